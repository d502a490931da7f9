// Binding and closing the small HTTP servers (metrics, web view) the same way:
// deadlines on slow clients, a bound on connections, and a close that does not
// wait for idle keep-alive or streaming connections. Two kinds: plain HTTP on
// loopback (loopback Host names only), or HTTPS that requires a client
// certificate from the fleet CA and admits only the names its owner allows.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { createSecureContext, type TLSSocket } from "node:tls";
import { isLoopbackHost, splitHostPort } from "./loopback-listen.js";

export interface BoundHttp {
  /** HOST:PORT actually bound (port 0 resolved). */
  address: string;
  /** http or https. */
  scheme: "http" | "https";
  /**
   * HTTPS only (SIGHUP): loads this certificate, key and CA now — throwing if TLS
   * cannot use them — and returns what puts them in force for new connections,
   * which cannot fail. Nothing changes until that is called.
   */
  prepareTls?(material: TlsServerMaterial): () => void;
  close(): Promise<void>;
}

/** The server's certificate and key, and the CA every client certificate must chain to. */
export interface TlsServerMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

export interface ClientCertAccess {
  material: TlsServerMaterial;
  /**
   * Why a client whose certificate chains to the CA and names `name` (its CN) may
   * not read here — the 403's text — or undefined to admit it. Asked on every
   * request, so a name revoked by a config reload is refused at once.
   */
  refuse(name: string | undefined): string | undefined;
}

/**
 * Node checks headersTimeout/requestTimeout only every connectionsCheckingInterval (30 s by
 * default), which let slow-header clients hold every connection slot.
 */
const HTTP_OPTIONS = { connectionsCheckingInterval: 500, headersTimeout: 5_000, requestTimeout: 10_000, keepAliveTimeout: 5_000 };

/** Plain HTTP, or HTTPS with required client certificates when `tls` is given. */
export function createHttpServer(handler: RequestListener, tls?: ClientCertAccess): Server | HttpsServer {
  return tls ? createClientCertServer(handler, tls) : createLoopbackHttpServer(handler);
}

/**
 * Plain HTTP: a request whose Host is not a loopback name is refused (421), so a web
 * page cannot read these listeners through DNS rebinding.
 */
function createLoopbackHttpServer(handler: RequestListener): Server {
  return createServer(HTTP_OPTIONS, (req, res) => {
    if (!loopbackHostHeader(req)) return refuseForeignHost(res);
    handler(req, res);
  });
}

/**
 * HTTPS: the handshake fails without a client certificate that chains to the CA
 * (requestCert + rejectUnauthorized), and a verified name the owner does not
 * admit gets 403 with the reason. No Host check: a rebinding page cannot pass
 * the server's certificate check, let alone present a client certificate.
 */
function createClientCertServer(handler: RequestListener, access: ClientCertAccess): HttpsServer {
  const server = createHttpsServer({ ...HTTP_OPTIONS, ...access.material, requestCert: true, rejectUnauthorized: true, handshakeTimeout: 10_000 }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const refusal = socket.authorized ? access.refuse(peerName(socket)) : "a client certificate signed by the fleet CA is required";
    if (refusal) return void res.writeHead(403, { "content-type": "text/plain; charset=utf-8" }).end(`${refusal}\n`);
    handler(req, res);
  });
  TRUSTED_CA.set(server, access.material.ca);
  return server;
}

/** The CA an HTTPS server was created with, to tell a CA change on SIGHUP from a renewed certificate. */
const TRUSTED_CA = new WeakMap<Server | HttpsServer, Buffer>();

/** The name (CN) of the client certificate a request came with over HTTPS. */
export function clientName(req: IncomingMessage): string | undefined {
  return "getPeerCertificate" in req.socket ? peerName(req.socket as TLSSocket) : undefined;
}

function peerName(socket: TLSSocket): string | undefined {
  const cn: unknown = socket.getPeerCertificate().subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return typeof name === "string" && name !== "" ? name : undefined;
}

function loopbackHostHeader(req: IncomingMessage): boolean {
  return isLoopbackHost((req.headers.host ?? "").replace(/:\d+$/, ""));
}

function refuseForeignHost(res: ServerResponse): void {
  res.writeHead(421, { "content-type": "text/plain" }).end("this listener answers only to a loopback host name (127.0.0.1, localhost, [::1])\n");
}

/**
 * SIGHUP: the new context is built now (throws if TLS cannot use the files); the
 * commit swaps it in for new connections. When the CA changed, every connection
 * open now was verified under the old trust: all of them are closed (clients
 * reconnect and are verified again), or a certificate of a replaced CA would keep
 * reading over a keep-alive connection. A renewed certificate or key alone keeps them.
 */
function prepareSecureContext(server: HttpsServer, trust: { ca: Buffer }, open: Set<Socket>, m: TlsServerMaterial): () => void {
  const options = { cert: m.cert, key: m.key, ca: m.ca };
  // setSecureContext builds the same context again from the same bytes: having built it once here, it cannot fail there.
  createSecureContext(options);
  return () => {
    server.setSecureContext(options);
    if (trust.ca.equals(m.ca)) return;
    trust.ca = m.ca;
    for (const socket of open) socket.destroy();
    open.clear();
  };
}

export function listenHttp(server: Server | HttpsServer, listen: string, maxConnections = 64): Promise<BoundHttp> {
  const { host, port } = splitHostPort(listen);
  server.maxConnections = maxConnections;
  const https = "setSecureContext" in server;
  const trust = { ca: TRUSTED_CA.get(server) ?? Buffer.alloc(0) };
  const open = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`cannot listen on ${listen}: ${err.message}`)));
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      const address = a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
      resolve({
        address,
        scheme: https ? "https" : "http",
        ...(https ? { prepareTls: (m: TlsServerMaterial) => prepareSecureContext(server as HttpsServer, trust, open, m) } : {}),
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

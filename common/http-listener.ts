// Binding and closing the small HTTP servers (metrics, web view) the same way:
// deadlines on slow clients, a bound on connections in total and per source
// address (ConnectionGate: connections that have not yet carried an admitted
// request are few, short-lived and evicted oldest first), and a close that does
// not wait for idle keep-alive or streaming connections. Two kinds: plain HTTP
// on loopback (loopback Host names only), or HTTPS that requires a client
// certificate from the fleet CA and admits only the names its owner allows.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { lookup } from "node:dns/promises";
import type { AddressInfo, Socket } from "node:net";
import { createSecureContext, type TLSSocket } from "node:tls";
import { ConnectionGate } from "./connection-gate.js";
import { PeerLog } from "./peer-log.js";
import type { Logger } from "./logger.js";
import { isLoopbackHost, isLoopbackIp, splitHostPort } from "./loopback-listen.js";

export interface HttpListenerOptions {
  /** Names the listener in the log ("metrics", "web view"). */
  name: string;
  /** HOST:PORT (port 0: any free port). */
  listen: string;
  handler: RequestListener;
  /** HTTPS with required client certificates; absent: plain HTTP (loopback). */
  tls?: ClientCertAccess;
  limits: HttpConnectionLimits;
  logger: Logger;
}

export interface HttpConnectionLimits {
  /** Open connections in all. */
  maxConnections: number;
  /** Open connections from one source address. */
  maxConnectionsPerPeer: number;
}

/** What the servers report about each request: admitted (its connection is no longer pending), or refused (logged, rate-limited). */
interface Admission {
  admitted(req: IncomingMessage): void;
  refused(req: IncomingMessage, status: number, reason: string): void;
}

/** A connection that has not carried an admitted request after this long is closed (the TLS handshake has as long). */
const PENDING_MS = 10_000;

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

/**
 * Binds the listener. Every connection passes the gate first; an admitted
 * request (a loopback Host, or a certificate name the owner admits) marks its
 * connection as no longer pending.
 */
export async function startHttpListener(o: HttpListenerOptions): Promise<BoundHttp> {
  const logger = o.logger.child({ listener: o.name });
  const gate = new ConnectionGate({ ...o.limits, handshakeTimeoutMs: PENDING_MS }, () => undefined, logger);
  const refusals = new PeerLog((msg, fields) => logger.warn(msg, fields));
  const seen: Admission = {
    admitted: (req) => gate.authenticated(`${req.socket.remoteAddress}:${req.socket.remotePort}`),
    refused: (req, status, reason) => refusals.note(req.socket.remoteAddress ?? "unix", `refused a request (${status})`, { reason }),
  };
  const server = o.tls ? createClientCertServer(o.handler, o.tls, seen) : createLoopbackHttpServer(o.handler, seen);
  server.on("tlsClientError", (err: Error, socket: TLSSocket) => refusals.note(socket.remoteAddress ?? "unknown", "refused a TLS handshake", { error: err.message }));
  // The gate decides; Node's own bound (which refuses the newest connection, never an idle one) only backs it up.
  server.maxConnections = o.limits.maxConnections * 2;
  server.on("connection", (socket: Socket) => gate.admit(socket));
  const address = await bind(server, o.listen, !o.tls);
  const trust = { ca: o.tls?.material.ca ?? Buffer.alloc(0) };
  return {
    address,
    scheme: o.tls ? "https" : "http",
    ...(o.tls ? { prepareTls: (m: TlsServerMaterial) => prepareSecureContext(server as HttpsServer, trust, gate, m) } : {}),
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
        gate.closeAll();
      }),
  };
}

/**
 * Plain HTTP: a request whose Host is not a loopback name is refused (421), so a web
 * page cannot read these listeners through DNS rebinding.
 */
function createLoopbackHttpServer(handler: RequestListener, seen: Admission): Server {
  return createServer(HTTP_OPTIONS, (req, res) => {
    if (!loopbackHostHeader(req)) {
      seen.refused(req, 421, `Host ${JSON.stringify(req.headers.host ?? "")} is not a loopback name`);
      return refuseForeignHost(res);
    }
    seen.admitted(req);
    handler(req, res);
  });
}

/**
 * HTTPS: the handshake fails without a client certificate that chains to the CA
 * (requestCert + rejectUnauthorized), and a verified name the owner does not
 * admit gets 403 with the reason. No Host check: a rebinding page cannot pass
 * the server's certificate check, let alone present a client certificate.
 */
function createClientCertServer(handler: RequestListener, access: ClientCertAccess, seen: Admission): HttpsServer {
  return createHttpsServer({ ...HTTP_OPTIONS, ...access.material, requestCert: true, rejectUnauthorized: true, handshakeTimeout: PENDING_MS }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const refusal = socket.authorized ? access.refuse(peerName(socket)) : "a client certificate signed by the fleet CA is required";
    if (refusal) {
      seen.refused(req, 403, refusal);
      return void res.writeHead(403, { "content-type": "text/plain; charset=utf-8" }).end(`${refusal}\n`);
    }
    seen.admitted(req);
    handler(req, res);
  });
}

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
 * open now was verified under the old trust (or is being verified under it): all
 * of them are closed (clients reconnect and are verified again), or a certificate
 * of a replaced CA would keep reading over a keep-alive connection. A renewed
 * certificate or key alone keeps them.
 */
function prepareSecureContext(server: HttpsServer, trust: { ca: Buffer }, gate: ConnectionGate, m: TlsServerMaterial): () => void {
  const options = { cert: m.cert, key: m.key, ca: m.ca };
  // setSecureContext builds the same context again from the same bytes: having built it once here, it cannot fail there.
  createSecureContext(options);
  return () => {
    server.setSecureContext(options);
    if (trust.ca.equals(m.ca)) return;
    trust.ca = m.ca;
    gate.closeAll();
  };
}

/** Listens; resolves with HOST:PORT as bound. `loopbackOnly`: localhost must resolve to loopback addresses only. */
async function bind(server: Server | HttpsServer, listen: string, loopbackOnly: boolean): Promise<string> {
  const { host, port } = splitHostPort(listen);
  const at = host === "localhost" && loopbackOnly ? await resolveLoopback(host) : host;
  return new Promise((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`cannot listen on ${listen}: ${err.message}`)));
    server.listen(port, at, () => {
      const a = server.address() as AddressInfo;
      resolve(a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
    });
  });
}

/** The name's first address, when every address it resolves to is loopback (a changed /etc/hosts must not expose plain HTTP). */
async function resolveLoopback(name: string): Promise<string> {
  const addresses = await lookup(name, { all: true });
  const foreign = addresses.filter((a) => !isLoopbackIp(a.address));
  if (addresses.length === 0 || foreign.length) throw new Error(`cannot listen on ${name}: it resolves to ${foreign.map((a) => a.address).join(", ") || "nothing"}, not loopback; use 127.0.0.1 or [::1]`);
  return addresses[0]!.address;
}

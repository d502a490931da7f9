// Binding and closing the small HTTP servers (metrics, web view) the same way:
// deadlines on slow clients, a bound on connections, loopback Host names only,
// and a close that does not wait for idle keep-alive or streaming connections.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isLoopbackHost, splitHostPort } from "./loopback-listen.js";

export interface BoundHttp {
  /** HOST:PORT actually bound (port 0 resolved). */
  address: string;
  close(): Promise<void>;
}

/**
 * An HTTP server whose deadlines hold: Node checks headersTimeout/requestTimeout only every
 * connectionsCheckingInterval (30 s by default), which let slow-header clients hold every
 * connection slot; and a request whose Host is not a loopback name is refused (421), so a web
 * page cannot read these listeners through DNS rebinding.
 */
export function createLoopbackHttpServer(handler: RequestListener): Server {
  return createServer({ connectionsCheckingInterval: 500, headersTimeout: 5_000, requestTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => {
    if (!loopbackHostHeader(req)) return refuseForeignHost(res);
    handler(req, res);
  });
}

function loopbackHostHeader(req: IncomingMessage): boolean {
  return isLoopbackHost((req.headers.host ?? "").replace(/:\d+$/, ""));
}

function refuseForeignHost(res: ServerResponse): void {
  res.writeHead(421, { "content-type": "text/plain" }).end("this listener answers only to a loopback host name (127.0.0.1, localhost, [::1])\n");
}

export function listenHttp(server: Server, listen: string, maxConnections = 64): Promise<BoundHttp> {
  const { host, port } = splitHostPort(listen);
  server.maxConnections = maxConnections;
  return new Promise((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`cannot listen on ${listen}: ${err.message}`)));
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      const address = a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
      resolve({
        address,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

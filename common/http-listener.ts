// Binding and closing the small HTTP servers (metrics, web view) the same way:
// deadlines on slow clients, a bound on connections, and a close that does not
// wait for idle keep-alive or streaming connections.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { splitHostPort } from "./loopback-listen.js";

export interface BoundHttp {
  /** HOST:PORT actually bound (port 0 resolved). */
  address: string;
  close(): Promise<void>;
}

export function listenHttp(server: Server, listen: string, maxConnections = 64): Promise<BoundHttp> {
  const { host, port } = splitHostPort(listen);
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
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

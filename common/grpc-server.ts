// What the agent's and the controller's gRPC servers share: mutual-TLS
// credentials from files, and a shutdown that lets calls finish for a while.
import { readFileSync } from "node:fs";
import { ServerCredentials, type Server } from "@grpc/grpc-js";

/** Requires a client certificate signed by `ca`. */
export function mutualTlsCredentials(tls: { cert: string; key: string; ca: string }): ServerCredentials {
  return ServerCredentials.createSsl(readFileSync(tls.ca), [{ cert_chain: readFileSync(tls.cert), private_key: readFileSync(tls.key) }], true);
}

/** Refuses new calls, waits up to `graceMs` for the ones in flight, then cancels them. */
export function shutdownGracefully(server: Server, graceMs: number, onForce?: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      onForce?.();
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

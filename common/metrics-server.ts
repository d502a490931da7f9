// Serves a prom-client registry at GET /metrics on an opt-in loopback address.
import type { Registry } from "prom-client";
import { createLoopbackHttpServer, listenHttp, type BoundHttp } from "./http-listener.js";
import type { Logger } from "./logger.js";

export async function startMetricsServer(listen: string, registry: Registry, logger: Logger): Promise<BoundHttp> {
  const server = createLoopbackHttpServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET, HEAD" }).end();
    if ((req.url ?? "").split("?")[0] !== "/metrics") return void res.writeHead(404, { "content-type": "text/plain" }).end("not found; metrics are at /metrics\n");
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      (err) => {
        logger.error("metrics collection failed", { error: err });
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed (see the log)\n");
      },
    );
  });
  const bound = await listenHttp(server, listen);
  logger.info("metrics listening", { address: bound.address, path: "/metrics" });
  return bound;
}

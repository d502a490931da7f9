// Serves a prom-client registry at GET /metrics on an opt-in address: plain
// HTTP on loopback, or HTTPS with client certificates (`tls`).
import type { RequestListener } from "node:http";
import type { Registry } from "prom-client";
import { startHttpListener, type BoundHttp, type ClientCertAccess, type HttpConnectionLimits } from "./http-listener.js";
import type { Logger } from "./logger.js";

/** A scraper or two use a connection each; what is left over is room for a flood's evictions. */
export const METRICS_LIMITS: HttpConnectionLimits = { maxConnections: 64, maxConnectionsPerPeer: 16 };

export async function startMetricsServer(listen: string, registry: Registry, logger: Logger, tls?: ClientCertAccess): Promise<BoundHttp> {
  const handler: RequestListener = (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET, HEAD" }).end();
    if ((req.url ?? "").split("?")[0] !== "/metrics") return void res.writeHead(404, { "content-type": "text/plain" }).end("not found; metrics are at /metrics\n");
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      (err) => {
        logger.error("metrics collection failed", { error: err });
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed (see the log)\n");
      },
    );
  };
  const bound = await startHttpListener({ name: "metrics", listen, handler, tls, limits: METRICS_LIMITS, logger });
  logger.info("metrics listening", { address: bound.address, path: "/metrics", tls: tls ? "client certificates required" : "off (loopback only)" });
  return bound;
}

// The replication gauges on the controller's /metrics (when metrics are on):
// measured at scrape time from the running replication.
import { Gauge, type Registry } from "prom-client";
import type { RunningReplication } from "./start-replication.js";

export function registerReplicationMetrics(registry: Registry, replication: RunningReplication): void {
  new Gauge({
    name: "fleet_replication_lag_seconds",
    help: "Age of the oldest history write not yet known to be in the replica (0 when the replica holds every write).",
    registers: [registry],
    collect() {
      this.set(replication.status().lagSeconds);
    },
  });
  new Gauge({
    name: "fleet_replication_up",
    help: "1 while Litestream runs and its positions can be read, else 0.",
    registers: [registry],
    collect() {
      const s = replication.status();
      this.set(s.litestream.state === "running" && !s.sampleError ? 1 : 0);
    },
  });
  new Gauge({
    name: "fleet_replication_restarts",
    help: "Times Litestream died and was restarted since the controller started.",
    registers: [registry],
    collect() {
      this.set(replication.status().litestream.restarts);
    },
  });
}

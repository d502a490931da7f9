// Starts what watches the controller from the side, each opt-in from the
// inventory: the metrics endpoint (and the agent reachability check that keeps
// it current), webhook deliveries, and the read-only web view.
import type { BoundHttp } from "../../common/http-listener.js";
import type { Logger } from "../../common/logger.js";
import { startMetricsServer } from "../../common/metrics-server.js";
import type { ControllerCore } from "../controller-core.js";
import type { HistoryStore } from "../history/history-store.js";
import type { Inventory } from "../inventory/inventory.js";
import { startWebServer } from "../web/web-server.js";
import { SqliteDeliveryLog, type DeliveryAttempt } from "../webhooks/delivery-log.js";
import { WebhookDispatcher } from "../webhooks/webhook-dispatcher.js";
import { ControllerMetrics } from "./controller-metrics.js";

export interface RunningObservability {
  metricsAddress?: string;
  webAddress?: string;
  deliveries(rolloutId: number): DeliveryAttempt[];
  /** A new inventory (SIGHUP): webhook endpoints change now, listen addresses on restart. */
  reconfigure(next: Inventory): void;
  /** Gives queued webhooks up to `graceMs`, then closes everything. */
  stop(graceMs: number): Promise<void>;
}

/** The database file and its WAL, whose sizes fleet_history_db_size_bytes reports. */
export function createControllerMetrics(dbFile: string): ControllerMetrics {
  return new ControllerMetrics(dbFile === ":memory:" ? [] : [dbFile, `${dbFile}-wal`]);
}

export async function startObservability(core: ControllerCore, history: HistoryStore, metrics: ControllerMetrics, logger: Logger): Promise<RunningObservability> {
  const inventory = core.currentInventory;
  const stops: (() => void | Promise<void>)[] = [];
  core.events.add(metrics);

  let metricsServer: BoundHttp | undefined;
  if (inventory.metrics) {
    metricsServer = await startMetricsServer(inventory.metrics.listen, metrics.registry, logger);
    stops.push(() => metricsServer!.close());
    if (inventory.metrics.agentCheckMs > 0) stops.push(checkReachability(core, metrics, inventory.metrics.agentCheckMs, logger));
  }

  const log = new SqliteDeliveryLog(inventory.controller.db, { walAutocheckpoint: inventory.replicate ? 0 : undefined });
  const dispatcher = new WebhookDispatcher({ log, logger, onAttempt: (endpoint, result) => metrics.webhookDeliveries.inc({ endpoint, result }) });
  dispatcher.configure(inventory.webhooks ?? [], inventory.schedules);
  core.events.add(dispatcher);

  let web: Awaited<ReturnType<typeof startWebServer>> | undefined;
  if (inventory.web) {
    web = await startWebServer(inventory.web.listen, { history, groups: () => [...core.currentInventory.groups.keys()], deliveries: (id) => log.forRollout(id) }, logger);
    core.events.add(web.streams);
    stops.push(() => web!.close());
  }

  return {
    metricsAddress: metricsServer?.address,
    webAddress: web?.address,
    deliveries: (id) => log.forRollout(id),
    reconfigure(next) {
      dispatcher.configure(next.webhooks ?? [], next.schedules);
      metrics.retainAgents([...next.groups.values()].flatMap((g) => g.hosts.map((host) => ({ group: g.name, host }))));
      if (next.metrics?.listen !== inventory.metrics?.listen || next.web?.listen !== inventory.web?.listen) logger.warn("metrics.listen and web.listen take effect on restart");
    },
    async stop(graceMs) {
      await dispatcher.stop(graceMs);
      for (const stop of stops.reverse()) await stop();
      log.close();
    },
  };
}

/** Asks every agent for its status every `everyMs` (never two rounds at once) to keep reachability current. */
function checkReachability(core: ControllerCore, metrics: ControllerMetrics, everyMs: number, logger: Logger): () => void {
  let busy = false;
  const round = () => {
    if (busy) return;
    busy = true;
    core
      .groupStatus("")
      .then((hosts) => hosts.forEach((h) => metrics.agentReached(h.group, h.address, h.reachable)))
      .catch((err) => logger.warn("agent reachability check failed", { error: err }))
      .finally(() => (busy = false));
  };
  const first = setTimeout(round, 0);
  const timer = setInterval(round, everyMs);
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}

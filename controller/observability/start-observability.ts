// Starts what watches the controller from the side, each opt-in from the
// inventory: the metrics endpoint (and the agent reachability check that keeps
// it current), webhook deliveries, and the read-only web view.
import type { BoundHttp, ClientCertAccess } from "../../common/http-listener.js";
import type { Logger } from "../../common/logger.js";
import { startMetricsServer } from "../../common/metrics-server.js";
import type { ControllerCore } from "../controller-core.js";
import type { HistoryStore } from "../history/history-store.js";
import type { Inventory, TlsFiles } from "../inventory/inventory.js";
import { certificateGrant, httpRefusal, type ControllerHttpListener } from "../server/operator-roles.js";
import { startWebServer } from "../web/web-server.js";
import { SqliteDeliveryLog, type DeliveryAttempt } from "../webhooks/delivery-log.js";
import { WebhookDispatcher } from "../webhooks/webhook-dispatcher.js";
import { ControllerMetrics } from "./controller-metrics.js";

export interface RunningObservability {
  metricsAddress?: string;
  webAddress?: string;
  deliveries(rolloutId: number): DeliveryAttempt[];
  /**
   * A new inventory (SIGHUP), in two steps: prepare builds everything that can
   * fail (the new TLS contexts of metrics.tls / web.tls) and throws, changing
   * nothing, if it cannot; the returned commit, which cannot fail, puts webhook
   * endpoints, the TLS files and the effects of controller.operators in force.
   * Listen addresses and turning tls on or off wait for a restart.
   */
  prepare(next: Inventory): () => void;
  /** Gives queued webhooks up to `graceMs`, then closes everything. */
  stop(graceMs: number): Promise<void>;
}

/** The database file and its WAL, whose sizes fleet_history_db_size_bytes reports. */
export function createControllerMetrics(dbFile: string): ControllerMetrics {
  return new ControllerMetrics(dbFile === ":memory:" ? [] : [dbFile, `${dbFile}-wal`]);
}

export async function startObservability(core: ControllerCore, history: HistoryStore, metrics: ControllerMetrics, logger: Logger): Promise<RunningObservability> {
  const inventory = core.currentInventory;
  /** The TLS files serving now (for what a SIGHUP changes). */
  let servingTls = inventory.credentials;
  const stops: (() => void | Promise<void>)[] = [];
  core.events.add(metrics);

  let metricsServer: BoundHttp | undefined;
  if (inventory.metrics) {
    metricsServer = await startMetricsServer(inventory.metrics.listen, metrics.registry, logger, clientCertAccess(core, "metrics", inventory.credentials.metrics));
    stops.push(() => metricsServer!.close());
    if (inventory.metrics.agentCheckMs > 0) stops.push(checkReachability(core, metrics, inventory.metrics.agentCheckMs, logger));
  }

  const log = new SqliteDeliveryLog(inventory.controller.db, { walAutocheckpoint: inventory.replicate ? 0 : undefined });
  const dispatcher = new WebhookDispatcher({ log, logger, onAttempt: (endpoint, result) => metrics.webhookDeliveries.inc({ endpoint, result }) });
  dispatcher.configure(inventory.webhooks ?? [], inventory.schedules);
  core.events.add(dispatcher);

  let web: Awaited<ReturnType<typeof startWebServer>> | undefined;
  if (inventory.web) {
    const sources = { history, groups: () => [...core.currentInventory.groups.keys()], deliveries: (id: number) => log.forRollout(id) };
    web = await startWebServer(inventory.web.listen, sources, logger, clientCertAccess(core, "web", inventory.credentials.web));
    core.events.add(web.streams);
    stops.push(() => web!.close());
  }

  return {
    metricsAddress: metricsServer?.address,
    webAddress: web?.address,
    deliveries: (id) => log.forRollout(id),
    prepare(next) {
      const commitMetricsTls = prepareTls("metrics", metricsServer, servingTls.metrics, next.credentials.metrics);
      const commitWebTls = prepareTls("web", web, servingTls.web, next.credentials.web);
      return () => {
        dispatcher.configure(next.webhooks ?? [], next.schedules);
        metrics.retainAgents([...next.groups.values()].flatMap((g) => g.hosts.map((host) => ({ group: g.name, host }))));
        if (next.metrics?.listen !== inventory.metrics?.listen || next.web?.listen !== inventory.web?.listen) logger.warn("metrics.listen and web.listen take effect on restart");
        commitMetricsTls(logger);
        // A reader admitted under the old files or names is checked again: new TLS files end every stream (browsers reconnect by themselves).
        web?.recheckAccess(commitWebTls(logger));
        servingTls = next.credentials;
      };
    },
    async stop(graceMs) {
      await dispatcher.stop(graceMs);
      for (const stop of stops.reverse()) await stop();
      log.close();
    },
  };
}

/** HTTPS when the listener has TLS files: a certificate is admitted while controller.operators (as the inventory says now) gives it the read role. */
function clientCertAccess(core: ControllerCore, listener: ControllerHttpListener, files: TlsFiles | undefined): ClientCertAccess | undefined {
  if (!files) return undefined;
  return { material: material(files), refuse: (name) => httpRefusal(listener, certificateGrant(core.currentInventory.controller, name)) };
}

const material = (f: TlsFiles) => ({ cert: f.cert.bytes, key: f.key.bytes, ca: f.ca.bytes });

/**
 * SIGHUP: new certificate, key and CA files for new connections, loaded now (throws if TLS cannot use them);
 * the commit puts them in force and says whether they changed. Switching TLS on or off waits for a restart.
 */
function prepareTls(listener: ControllerHttpListener, bound: BoundHttp | undefined, before: TlsFiles | undefined, files: TlsFiles | undefined): (logger: Logger) => boolean {
  if (!bound) return () => false;
  if ((bound.scheme === "https") !== (files !== undefined)) return (logger) => (logger.warn(`${listener}.tls on or off takes effect on restart`), false);
  if (!files || (before && digests(before) === digests(files))) return () => false;
  let swap: () => void;
  try {
    swap = bound.prepareTls!(material(files));
  } catch (err) {
    throw new Error(`${listener}.tls: TLS cannot use ${files.cert.file}, ${files.key.file} and ${files.ca.file}: ${(err as Error).message}`);
  }
  return (logger) => {
    swap();
    logger.info(`${listener}.tls files replaced for new connections`, { cert: files.cert.file });
    return true;
  };
}

const digests = (f: TlsFiles) => [f.cert.sha256, f.key.sha256, f.ca.sha256].join();

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

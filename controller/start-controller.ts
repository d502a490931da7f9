// The one way a controller is started — by the daemon, the tests and the
// demo: the history, this start's fencing epoch and the history's replication
// (when configured), the core (which recovers rollouts a dead controller left
// running), what watches it (metrics, webhooks, web view), then the listeners.
// Stopping is core.shutdown(), for all of them.
import { formatEpoch, nextEpoch } from "../common/controller-epoch.js";
import type { Logger } from "../common/logger.js";
import { ControllerCore, type CoreOptions } from "./controller-core.js";
import type { HistoryStore } from "./history/history-store.js";
import { SqliteHistoryStore } from "./history/sqlite-history-store.js";
import type { Inventory } from "./inventory/inventory.js";
import { createControllerMetrics, startObservability, type RunningObservability } from "./observability/start-observability.js";
import { timedHistory } from "./observability/timed-history.js";
import { readControllerStart, recordControllerStart } from "./replication/controller-starts.js";
import { registerReplicationMetrics } from "./replication/replication-metrics.js";
import { startReplication, type RunningReplication } from "./replication/start-replication.js";
import { startControllerServers } from "./server/controller-server.js";

export interface StartedController {
  core: ControllerCore;
  /** controller.listen as bound (a TCP port 0 resolved). */
  address: string;
  readAddress?: string;
  observability: RunningObservability;
}

export interface StartOptions extends CoreOptions {
  history?: HistoryStore;
  /** Set by --restore-from: this start is a takeover (its epoch outranks every start of the replaced controller). */
  restoredFrom?: string;
}

export async function startController(inventory: Inventory, logger: Logger, options: StartOptions = {}): Promise<StartedController> {
  const metrics = createControllerMetrics(inventory.controller.db);
  let replication: RunningReplication | undefined;
  const history =
    options.history ??
    timedHistory(new SqliteHistoryStore(inventory.controller.db, { walAutocheckpoint: inventory.replicate ? 0 : undefined }), (op, seconds) => {
      metrics.historyWrite(op, seconds);
      replication?.noteWrite(Date.now());
    });
  const fencing = options.history ? options.fencing : recordStart(inventory, logger, options.restoredFrom);
  try {
    if (fencing && inventory.replicate) {
      replication = await startReplication({ db: inventory.controller.db, replicate: inventory.replicate, controllerId: fencing.controllerId, epoch: fencing.epoch, logger });
      registerReplicationMetrics(metrics.registry, replication);
    }
  } catch (err) {
    history.close();
    throw err;
  }
  const core = new ControllerCore(inventory, history, logger, { ...options, fencing, replication });
  core.recoverInterrupted();
  let observability: RunningObservability | undefined;
  const afterHistory = replication ? [{ shutdown: (graceMs: number) => replication!.stop(Math.max(graceMs, 10_000)) }] : [];
  try {
    observability = await startObservability(core, history, metrics, logger);
    const servers = await startControllerServers(core, inventory.controller, inventory.credentials.listener, logger, observability.deliveries);
    const watching = observability;
    // Stopped with the listeners once the rollouts are: queued webhooks get the same grace.
    core.serving([servers, { shutdown: (graceMs) => watching.stop(graceMs) }], afterHistory);
    return { core, address: servers.address, readAddress: servers.readAddress, observability };
  } catch (err) {
    await observability?.stop(0);
    core.serving([], afterHistory);
    await core.shutdown(0);
    throw err;
  }
}

/** This start's epoch, recorded in the history (so it replicates): one more start, or the next takeover. */
function recordStart(inventory: Inventory, logger: Logger, restoredFrom: string | undefined): NonNullable<CoreOptions["fencing"]> {
  const takeover = restoredFrom !== undefined;
  let started: ReturnType<typeof recordControllerStart>;
  try {
    started = recordControllerStart(inventory.controller.db, { takeover, restoredFrom });
  } catch (err) {
    if (takeover) throw err;
    // A full or read-only disk must not keep the controller down (its rollouts recover with backoff);
    // the same epoch again next time is still accepted by the agents, and never outranks a takeover.
    const last = readControllerStart(inventory.controller.db);
    started = { controllerId: last.controllerId, epoch: nextEpoch(last.epoch ?? { takeover: 0, start: 0 }, false), previous: last.epoch };
    logger.error("this start's epoch could not be recorded in the history; using it unrecorded", { error: err instanceof Error ? err.message : String(err) });
  }
  logger.info(restoredFrom ? "controller took over from a replica" : "controller epoch", {
    controller: started.controllerId,
    epoch: formatEpoch(started.epoch),
    previous: started.previous ? formatEpoch(started.previous) : "none",
  });
  return { controllerId: started.controllerId, epoch: started.epoch };
}

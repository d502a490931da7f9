// The one way a controller is started — by the daemon, the tests and the
// demo. The order matters: the history database's lease first (a second
// controller on the same database is refused before it touches anything),
// then the history, this start's fencing epoch and the history's replication
// (when configured), the core, what watches it (metrics, webhooks, web view)
// and the listeners (a socket another live controller serves is never taken
// over); only once all of that stands are the rollouts a dead controller left
// running marked interrupted. Stopping is core.shutdown(), for all of them.
import { formatEpoch, nextEpoch } from "../common/controller-epoch.js";
import type { Logger } from "../common/logger.js";
import { ControllerCore, type CoreOptions } from "./controller-core.js";
import { ControllerLease } from "./history/controller-lease.js";
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
  /**
   * Resolves (with why) if another controller took the history database over
   * — this one was frozen past the lease's stale time. The core is then
   * already stopping without writing; the daemon exits non-zero.
   */
  leaseLost: Promise<string>;
}

export interface StartOptions extends CoreOptions {
  history?: HistoryStore;
  /** Set by --restore-from: this start is a takeover (its epoch outranks every start of the replaced controller). */
  restoredFrom?: string;
}

export async function startController(inventory: Inventory, logger: Logger, options: StartOptions = {}): Promise<StartedController> {
  const metrics = createControllerMetrics(inventory.controller.db);
  let lost!: (why: string) => void;
  const leaseLost = new Promise<string>((resolve) => (lost = resolve));
  let onLost = (why: string) => lost(why);
  // An injected history is the caller's to guard; the database we open ourselves is leased.
  const lease = options.history
    ? undefined
    : ControllerLease.take(inventory.controller.db, (why) => onLost(why), (err, missed) => logger.warn("history lease renewal failed; retrying", { error: err.message, missed }));
  let replication: RunningReplication | undefined;
  let history: HistoryStore;
  let fencing: CoreOptions["fencing"];
  try {
    history =
      options.history ??
      timedHistory(new SqliteHistoryStore(inventory.controller.db, { walAutocheckpoint: inventory.replicate ? 0 : undefined }), (op, seconds) => {
        metrics.historyWrite(op, seconds);
        replication?.noteWrite(Date.now());
      });
  } catch (err) {
    lease?.release();
    throw err;
  }
  try {
    fencing = options.history ? options.fencing : recordStart(inventory, logger, options.restoredFrom);
    if (fencing && inventory.replicate) {
      replication = await startReplication({ db: inventory.controller.db, replicate: inventory.replicate, controllerId: fencing.controllerId, epoch: fencing.epoch, logger });
      registerReplicationMetrics(metrics.registry, replication);
    }
  } catch (err) {
    history.close();
    lease?.release();
    throw err;
  }
  const core = new ControllerCore(inventory, history, logger, { ...options, fencing, replication });
  onLost = (why) => {
    logger.error("another controller took over the history database; stopping without writing to it", { why });
    // Fenced first: closed, every later write fails (and is dropped at shutdown) instead of overwriting the new owner's records.
    history.close();
    void core.shutdown(0);
    lost(why);
  };
  // After the history closes: Litestream's last sync, then the lease (its own connection) goes last.
  const afterHistory = [
    ...(replication ? [{ shutdown: (graceMs: number) => replication!.stop(Math.max(graceMs, 10_000)) }] : []),
    { shutdown: async () => lease?.release() },
  ];
  let observability: RunningObservability | undefined;
  try {
    observability = await startObservability(core, history, metrics, logger);
    const servers = await startControllerServers(core, () => core.currentInventory.controller, inventory.credentials.listener, logger, observability.deliveries);
    // Only now, with the listeners ours: nothing that can still fail comes after this.
    core.recoverInterrupted();
    const watching = observability;
    // Stopped with the listeners once the rollouts are: queued webhooks get the same grace.
    core.serving([servers, { shutdown: (graceMs) => watching.stop(graceMs) }], afterHistory);
    return { core, address: servers.address, readAddress: servers.readAddress, observability, leaseLost };
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

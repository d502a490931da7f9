// The one way a controller is started — by the daemon, the tests and the
// demo. The order matters: the history database's lease first (a second
// controller on the same database is refused before it touches anything),
// then the history, the core, what watches it (metrics, webhooks, web view)
// and the listeners (a socket another live controller serves is never taken
// over); only once all of that stands are the rollouts a dead controller left
// running marked interrupted. Stopping is core.shutdown(), for all of them.
import type { Logger } from "../common/logger.js";
import { ControllerCore, type CoreOptions } from "./controller-core.js";
import { ControllerLease } from "./history/controller-lease.js";
import type { HistoryStore } from "./history/history-store.js";
import { SqliteHistoryStore } from "./history/sqlite-history-store.js";
import type { Inventory } from "./inventory/inventory.js";
import { createControllerMetrics, startObservability, type RunningObservability } from "./observability/start-observability.js";
import { timedHistory } from "./observability/timed-history.js";
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

export async function startController(inventory: Inventory, logger: Logger, options: CoreOptions & { history?: HistoryStore } = {}): Promise<StartedController> {
  const metrics = createControllerMetrics(inventory.controller.db);
  let lost!: (why: string) => void;
  const leaseLost = new Promise<string>((resolve) => (lost = resolve));
  let onLost = (why: string) => lost(why);
  // An injected history is the caller's to guard; the database we open ourselves is leased.
  const lease = options.history
    ? undefined
    : ControllerLease.take(inventory.controller.db, (why) => onLost(why), (err, missed) => logger.warn("history lease renewal failed; retrying", { error: err.message, missed }));
  let history: HistoryStore;
  try {
    history = options.history ?? timedHistory(new SqliteHistoryStore(inventory.controller.db), (op, seconds) => metrics.historyWrite(op, seconds));
  } catch (err) {
    lease?.release();
    throw err;
  }
  const core = new ControllerCore(inventory, history, logger, options);
  onLost = (why) => {
    logger.error("another controller took over the history database; stopping without writing to it", { why });
    // Fenced first: closed, every later write fails (and is dropped at shutdown) instead of overwriting the new owner's records.
    history.close();
    void core.shutdown(0);
    lost(why);
  };
  let observability: RunningObservability | undefined;
  try {
    observability = await startObservability(core, history, metrics, logger);
    const servers = await startControllerServers(core, () => core.currentInventory.controller, inventory.credentials.listener, logger, observability.deliveries);
    // Only now, with the listeners ours: nothing that can still fail comes after this.
    core.recoverInterrupted();
    const watching = observability;
    // Stopped with the listeners once the rollouts are: queued webhooks get the same grace; the lease goes last.
    core.serving([
      {
        shutdown: async (graceMs) => {
          await Promise.all([servers.shutdown(graceMs), watching.stop(graceMs)]);
          lease?.release();
        },
      },
    ]);
    return { core, address: servers.address, readAddress: servers.readAddress, observability, leaseLost };
  } catch (err) {
    await observability?.stop(0);
    await core.shutdown(0);
    lease?.release();
    throw err;
  }
}

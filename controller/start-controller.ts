// The one way a controller is started — by the daemon, the tests and the
// demo: the history, the core (which recovers rollouts a dead controller left
// running), what watches it (metrics, webhooks, web view), then the listeners.
// Stopping is core.shutdown(), for all of them.
import type { Logger } from "../common/logger.js";
import { ControllerCore, type CoreOptions } from "./controller-core.js";
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
}

export async function startController(inventory: Inventory, logger: Logger, options: CoreOptions & { history?: HistoryStore } = {}): Promise<StartedController> {
  const metrics = createControllerMetrics(inventory.controller.db);
  const history = options.history ?? timedHistory(new SqliteHistoryStore(inventory.controller.db), (op, seconds) => metrics.historyWrite(op, seconds));
  const core = new ControllerCore(inventory, history, logger, options);
  core.recoverInterrupted();
  let observability: RunningObservability | undefined;
  try {
    observability = await startObservability(core, history, metrics, logger);
    const servers = await startControllerServers(core, () => core.currentInventory.controller, inventory.credentials.listener, logger, observability.deliveries);
    const watching = observability;
    // Stopped with the listeners once the rollouts are: queued webhooks get the same grace.
    core.serving([servers, { shutdown: (graceMs) => watching.stop(graceMs) }]);
    return { core, address: servers.address, readAddress: servers.readAddress, observability };
  } catch (err) {
    await observability?.stop(0);
    await core.shutdown(0);
    throw err;
  }
}

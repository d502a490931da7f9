// The one way a controller is started — by the daemon, the tests and the
// demo: the history, the core (which recovers rollouts a dead controller left
// running), then the listeners. Stopping is core.shutdown(), for all of them.
import type { Logger } from "../common/logger.js";
import { ControllerCore, type CoreOptions } from "./controller-core.js";
import type { HistoryStore } from "./history/history-store.js";
import { SqliteHistoryStore } from "./history/sqlite-history-store.js";
import type { Inventory } from "./inventory/inventory.js";
import { startControllerServers } from "./server/controller-server.js";

export interface StartedController {
  core: ControllerCore;
  /** controller.listen as bound (a TCP port 0 resolved). */
  address: string;
  readAddress?: string;
}

export async function startController(inventory: Inventory, logger: Logger, options: CoreOptions & { history?: HistoryStore } = {}): Promise<StartedController> {
  const history = options.history ?? new SqliteHistoryStore(inventory.controller.db);
  const core = new ControllerCore(inventory, history, logger, options);
  core.recoverInterrupted();
  try {
    const servers = await startControllerServers(core, inventory.controller, inventory.credentials.listener, logger);
    core.serving([servers]);
    return { core, address: servers.address, readAddress: servers.readAddress };
  } catch (err) {
    await core.shutdown(0);
    throw err;
  }
}

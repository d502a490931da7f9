// A real controller (core + gRPC on a unix socket + SQLite file) in the test process.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { silentLogger } from "../../common/logger.js";
import { ControllerCore } from "../../controller/controller-core.js";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";
import { readInventory } from "../../controller/inventory/read-inventory.js";
import { createControllerMetrics, startObservability, type RunningObservability } from "../../controller/observability/start-observability.js";
import { timedHistory } from "../../controller/observability/timed-history.js";
import { startControllerServer } from "../../controller/server/controller-server.js";

export interface ControllerHarness {
  address: string;
  core: ControllerCore;
  /** Metrics, webhooks and web view, as the daemon starts them from the inventory. */
  observability: RunningObservability;
  stop(): Promise<void>;
}

export function writeInventory(dir: string, groups: string, extra = ""): string {
  const file = path.join(dir, "fleet.yaml");
  writeFileSync(file, `controller: { listen: "unix:${dir}/controller.sock", db: ${dir}/history.db }\nagents: { deadline: 3s, reload_deadline: 20s }\n${extra}groups:\n${groups}`);
  return file;
}

export async function startController(fleetYaml: string): Promise<ControllerHarness> {
  const inventory = await readInventory(fleetYaml);
  const metrics = createControllerMetrics(inventory.controller.db);
  const history = timedHistory(new SqliteHistoryStore(inventory.controller.db), (op, seconds) => metrics.historyWrite(op, seconds));
  history.interruptRunning(Date.now());
  const core = new ControllerCore(inventory, history, silentLogger);
  const observability = await startObservability(core, metrics, silentLogger);
  const server = await startControllerServer(core, inventory.controller.listen, silentLogger, inventory.controller.socketGroup, undefined, observability.deliveries);
  return {
    address: server.address,
    core,
    observability,
    async stop() {
      await core.executor.interruptAll();
      await server.shutdown(2000);
      await observability.stop(2000);
      core.close();
      history.close();
    },
  };
}

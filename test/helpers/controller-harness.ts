// A real controller (core + gRPC on a unix socket + SQLite file) in the test
// process, started and stopped the way the daemon does it.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { silentLogger, type Logger } from "../../common/logger.js";
import type { ControllerCore, CoreOptions } from "../../controller/controller-core.js";
import type { RunningObservability } from "../../controller/observability/start-observability.js";
import { readInventory } from "../../controller/inventory/read-inventory.js";
import { startController as start } from "../../controller/start-controller.js";

export interface ControllerHarness {
  address: string;
  readAddress?: string;
  core: ControllerCore;
  /** Metrics, webhooks and the web view, as the inventory opted into them. */
  observability: RunningObservability;
  stop(): Promise<void>;
}

export function writeInventory(dir: string, groups: string, extra = "", controllerExtra = ""): string {
  const file = path.join(dir, "fleet.yaml");
  writeFileSync(file, `controller: { listen: "unix:${dir}/controller.sock", db: ${dir}/history.db${controllerExtra} }\nagents: { deadline: 3s, reload_deadline: 20s }\n${extra}groups:\n${groups}`);
  return file;
}

export async function startController(fleetYaml: string, options: CoreOptions & { logger?: Logger } = {}): Promise<ControllerHarness> {
  const inventory = await readInventory(fleetYaml);
  const { core, address, readAddress, observability } = await start(inventory, options.logger ?? silentLogger, options);
  return { address, readAddress, core, observability, stop: () => core.shutdown(2000) };
}

// SIGHUP's second half, after the new inventory was read and checked: every
// part that can still fail (the new TLS contexts of metrics.tls and web.tls) is
// built before anything changes, so a refusal keeps the previous inventory in
// full, as the log says; then all of it is put in force at once.
import type { Logger } from "../common/logger.js";
import type { ControllerCore } from "./controller-core.js";
import type { Inventory } from "./inventory/inventory.js";
import type { RunningObservability } from "./observability/start-observability.js";

export function applyInventory(core: ControllerCore, observability: RunningObservability, next: Inventory, logger: Logger): void {
  const commitObservability = observability.prepare(next);
  // Operators are read on every call (a removed name is refused at once); what is bound waits for a restart.
  const bound = ({ operators: _, ...rest }: typeof next.controller) => JSON.stringify(rest);
  if (bound(next.controller) !== bound(core.currentInventory.controller)) logger.warn("controller.listen, sockets, groups, tls and db take effect on restart; controller.operators applies now");
  core.replaceInventory(next);
  commitObservability();
  logger.info("inventory reloaded", { groups: [...next.groups.keys()] });
}

// An inventory for ControllerCore unit tests over fake agents: groups of bare addresses, insecure
// agents, the default policy, nothing listening and no database file.
import type { Inventory } from "../../controller/inventory/inventory.js";
import { DEFAULT_POLICY } from "../../controller/rollout/rollout-policy.js";

export function unitInventory(groups: Record<string, string[]>, reloadDeadlineMs = 20_000): Inventory {
  return {
    controller: { listen: "unix:/nonexistent", db: "/nonexistent", operators: { read: [], operate: [] } },
    agents: { access: { mode: "insecure" }, deadlineMs: 1000, reloadDeadlineMs },
    groups: new Map(Object.entries(groups).map(([name, hosts]) => [name, { name, service: "web", hosts, members: hosts.map((address) => ({ name: address, address, vars: {}, labels: {} })), vars: {}, canary: [], policy: DEFAULT_POLICY }])),
    schedules: [],
    credentials: { agents: { mode: "insecure" } },
  } as Inventory;
}

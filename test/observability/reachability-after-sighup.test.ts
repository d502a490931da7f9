// A host removed from the inventory (SIGHUP) stops being reported by fleet_agent_reachable, so
// an alert on `fleet_agent_reachable == 0` does not keep paging for a decommissioned host.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import { applyInventory } from "../../controller/apply-inventory.js";
import { readInventory } from "../../controller/inventory/read-inventory.js";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { startLocalFleet } from "../helpers/local-fleet.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const DEAD = "127.0.0.1:9"; // nothing listens on the discard port

describe("reachability of a host removed from the inventory", () => {
  const scratch = scratchDir();
  let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
  let controller: ControllerHarness;
  const scrape = async () => (await fetch(`http://${controller.observability.metricsAddress}/metrics`)).text();
  const extra = "metrics: { listen: 127.0.0.1:0, agent_check: 1s }\n";

  before(async () => {
    fleet = await startLocalFleet(scratch.dir, 1, "r");
    controller = await startController(writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${fleet.hosts[0]!.address}, ${DEAD}]\n`, extra));
  });
  after(async () => {
    await controller?.stop();
    await fleet?.stop();
    scratch.remove();
  });

  test("the removed host's series goes away after SIGHUP (inventory reload)", async () => {
    await waitFor("the dead host reported unreachable", async () => (await scrape()).includes(`fleet_agent_reachable{group="web",host="${DEAD}"} 0`), 15_000);
    const next = await readInventory(writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${fleet.hosts[0]!.address}]\n`, extra));
    applyInventory(controller.core, controller.observability, next, silentLogger);
    await new Promise((r) => setTimeout(r, 3000)); // three reachability rounds
    const text = await scrape();
    assert.doesNotMatch(text, new RegExp(`fleet_agent_reachable\\{[^}]*host="${DEAD.replace(/\./g, "\\.")}"`), "a host no longer in the inventory is still reported unreachable");
  });
});

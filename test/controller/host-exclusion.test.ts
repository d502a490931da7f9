// A host (agent address + service) is in at most one running rollout: two
// groups that share a host cannot reload it at the same moment.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { RolloutEvent } from "../../controller/rollout/rollout-executor.js";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { startLocalFleet } from "../helpers/local-fleet.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const scratch = scratchDir();
let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
let controller: ControllerHarness;

before(async () => {
  fleet = await startLocalFleet(scratch.dir, 3, "x");
  const [a, b, c] = fleet.hosts.map((h) => h.address);
  controller = await startController(writeInventory(scratch.dir, `  front:\n    service: web\n    hosts: [${a}, ${b}]\n  back:\n    service: web\n    hosts: [${b}, ${c}]\n`));
});
after(async () => {
  await controller?.stop();
  await fleet?.stop();
  scratch.remove();
});

test("two groups sharing a host: the second rollout is refused while the first runs, naming it; hosts not shared are free", async () => {
  const env = { FLEET_CONTROLLER: controller.address };
  const shared = fleet.hosts[1]!.address;
  const before = await Promise.all(fleet.hosts.map((h) => h.reloads()));
  const events: RolloutEvent[] = [];
  const first = controller.core.startReload(
    { group: "front", policy: { canary: "1", batch: "1", pause: "5s" }, hosts: [], reason: "hold the hosts", caller: { user: "first", host: "test" }, peer: "in-process", allowRestart: false },
    (e) => events.push(e),
  );
  await waitFor("the pause after the canary", () => events.some((e) => e.kind === "pause"), 20_000);

  const refused = await runFleet(["reload", "back"], env);
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, new RegExp(`host ${shared.replace(/\./g, "\\.")} \\(service web\\) is busy: rollout ${first.rollout.id} \\(group front, started by first@test`));
  const unshared = await runFleet(["reload", "back", "--hosts", fleet.hosts[2]!.address], env);
  assert.equal(unshared.code, 0, unshared.stdout + unshared.stderr);

  assert.equal((await runFleet(["abort", String(first.rollout.id)], env)).code, 0);
  assert.equal((await first.done).state, "aborted");
  const after = await Promise.all(fleet.hosts.map((h) => h.reloads()));
  assert.deepEqual(after.map((n, i) => n - before[i]!), [1, 0, 1], "the shared host was never reloaded by the refused rollout");
  const second = await runFleet(["reload", "back"], env);
  assert.equal(second.code, 0, "free once the first ended");
});

// Guarantee: one agent spelled two ways in two groups — 127.0.0.1:PORT in one,
// localhost:PORT in the other (or WEB1 vs web1, a trailing dot) — is one host
// to the locks: while a rollout reloads it through one group, a rollout
// through the other is refused. Host locks are keyed by the normalized address
// (controller/inventory/host-key.ts); within one group the second spelling is
// an inventory error. Names are not resolved: a short name and its FQDN stay
// two hosts (README).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { startLocalFleet } from "../helpers/local-fleet.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const scratch = scratchDir();
let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
before(async () => {
  fleet = await startLocalFleet(scratch.dir, 1, "al", { healthyFor: "3s" });
});
after(async () => {
  await fleet?.stop();
  scratch.remove();
});

test("one agent under two spellings is still one host: the second rollout is refused while the first holds it", async () => {
  const addr = fleet.hosts[0]!.address;
  const port = addr.split(":")[1];
  const file = writeInventory(scratch.dir, `  front:\n    service: web\n    hosts: [${addr}]\n  back:\n    service: web\n    hosts: [localhost:${port}]\n`);
  const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
  const d = await startControllerDaemon(file);
  try {
    const first = runFleet(["reload", "front", "--yes"], env, 30_000);
    await waitFor("rollout 1 to run", async () => /^1\s+running\s+front/m.test((await runFleet(["history"], env)).stdout), 10_000, 100);
    const second = await runFleet(["reload", "back", "--yes"], env, 30_000);
    await first;
    assert.equal(second.code, 1, `rollout on localhost:${port} accepted while ${addr} was being reloaded:\n${second.stdout}`);
    assert.match(second.stderr, new RegExp(`host localhost:${port} \\(service web\\) is busy: rollout 1 \\(group front`), second.stderr);
    assert.equal((await first).code, 0);
  } finally {
    d.child.kill("SIGKILL");
    await d.exited;
  }
});

// kill -9 of the controller daemon while a config rollout's canary is being
// restored, restart, fleet resume of the rollback entry: it resumes as that
// restore — the live file is the pre-rollout file again, the bad file is never
// pushed again, and the service got no reload beyond the push's and the restore's.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { startControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { startLocalFleet, type FleetHost } from "../helpers/local-fleet.js";
import { FLEET_BIN, runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const scratch = scratchDir();
let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
let host: FleetHost;
let file: string;

before(async () => {
  // healthy_for 3s: the restore's reload waits that long for steady health, the window for the kill.
  fleet = await startLocalFleet(scratch.dir, 1, "rb", { declareConfig: true, healthyFor: "3s" });
  host = fleet.hosts[0]!;
  file = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${host.address}]\n    policy: { canary: 1 }\n`);
});
after(async () => {
  await fleet?.stop();
  scratch.remove();
});

test("kill -9 during a rollback's restore; after a restart, resuming the rollback entry restores and never pushes the bad file again", async () => {
  const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
  const original = readFileSync(host.service.configFile);
  const reloadsBefore = await host.reloads();
  const bad = path.join(scratch.dir, "bad.json");
  writeFileSync(bad, JSON.stringify({ healthy: false, body: "bad" }));

  const first = await startControllerDaemon(file);
  const cli = spawn(FLEET_BIN, ["rollout", "web", "--file", bad, "--path", host.service.configFile], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, timeout: 60_000 });
  let out = "";
  cli.stdout.on("data", (d) => {
    out += d;
    if (/rollback_started/.test(out) && first.child.exitCode === null && first.child.signalCode === null) first.child.kill("SIGKILL");
  });
  await new Promise((resolve) => cli.on("exit", resolve));
  assert.equal(await first.exited, "SIGKILL", `the controller was killed during the restore:\n${out}`);
  const parentId = /rollout (\d+)/.exec(out)![1]!;

  const second = await startControllerDaemon(file);
  try {
    const shown = JSON.parse((await runFleet(["show", parentId, "--json"], env)).stdout);
    assert.equal(shown.rollout.state, "interrupted");
    assert.equal(shown.linked.length, 1);
    const entry = shown.linked[0];
    assert.equal(entry.rollout.kind, "rollback");
    assert.equal(entry.rollout.state, "interrupted");
    assert.equal(entry.steps[0].status, "running", "the restore was in flight when the controller died");

    const refused = await runFleet(["resume", parentId], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`its restore, rollout ${entry.rollout.id}, was interrupted: fleet resume ${entry.rollout.id} first`));

    const resumed = await runFleet(["resume", String(entry.rollout.id)], env);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.doesNotMatch(resumed.stdout, /pushing/);
    assert.match(resumed.stdout, /host_started .* restoring [0-9a-f]{12}/);
    assert.ok(readFileSync(host.service.configFile).equals(original), "the live file is the pre-rollout file");
    assert.equal(await host.reloads(), reloadsBefore + 2, "one reload for the bad push, one for its restore, none more");

    // The parent, resumed now, settles its canary from the record and pushes nothing.
    const parent = await runFleet(["resume", parentId, "--json"], env);
    assert.equal(parent.code, 1);
    const finished = parent.stdout.trim().split("\n").map((l) => JSON.parse(l)).find((e) => e.kind === "finished");
    assert.equal(finished.outcome, "failed");
    assert.ok(readFileSync(host.service.configFile).equals(original), "still the pre-rollout file");
    assert.equal(await host.reloads(), reloadsBefore + 2, "and still no extra reload");
    const after = JSON.parse((await runFleet(["show", parentId, "--json"], env)).stdout);
    assert.equal(after.linked[0].rollout.state, "succeeded");
    assert.equal(after.linked[0].steps[0].outcome, "reloaded");
  } finally {
    await second.stop();
  }
});

// kill -9 of the controller daemon mid-rollout, restart, interrupted with
// exact per-host states, resume: every service reloaded exactly once.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { CONTROLLER_BIN } from "../helpers/built-bins.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { startLocalFleet } from "../helpers/local-fleet.js";
import { FLEET_BIN, runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";


const scratch = scratchDir();
let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
let file: string;

function startDaemon(): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(CONTROLLER_BIN, ["--config", file], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return waitFor("the controller to listen", () => out.includes("controller listening"), 20_000).then(() => ({ child, output: () => out }));
}

before(async () => {
  fleet = await startLocalFleet(scratch.dir, 7);
  file = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${fleet.hosts.map((h) => h.address).join(", ")}]\n    policy: { canary: 1, batch: 2 }\n`);
});
after(async () => {
  await fleet?.stop();
  scratch.remove();
});

test("kill -9 mid-rollout: interrupted with exact host states; resume reloads each service exactly once", async () => {
  const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
  const before = await Promise.all(fleet.hosts.map((h) => h.reloads()));
  const first = await startDaemon();

  // Follow the rollout with the CLI; kill the controller the moment batch 2 starts.
  const cli = spawn(FLEET_BIN, ["reload", "web"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  cli.stdout.on("data", (d) => {
    out += d;
    if (/batch: batch 2:/.test(out) && first.child.exitCode === null && first.child.signalCode === null) first.child.kill("SIGKILL");
  });
  const cliExit = await new Promise<number | null>((resolve) => cli.on("exit", resolve));
  assert.equal(first.child.signalCode ?? (await new Promise((r) => first.child.on("exit", (_c, s) => r(s)))), "SIGKILL");
  assert.equal(cliExit, 3, "the CLI reports the controller unreachable");
  const id = /rollout (\d+)/.exec(out)![1]!;

  const second = await startDaemon();
  try {
    assert.match(second.output(), new RegExp(`"msg":"rollout was interrupted by a controller stop; fleet resume finishes it","rollout":${id}`));
    const shown = JSON.parse((await runFleet(["show", id, "--json"], env)).stdout);
    assert.equal(shown.rollout.state, "interrupted");
    const a = fleet.hosts.map((h) => h.address);
    assert.deepEqual(
      shown.steps.map((s: { host: string; batch: number; status: string; outcome: string }) => [s.host, s.batch, s.status, s.outcome]),
      [
        [a[0], 0, "done", "reloaded"],
        [a[1], 1, "done", "reloaded"],
        [a[2], 1, "done", "reloaded"],
        [a[3], 2, "running", ""],
        [a[4], 2, "running", ""],
        [a[5], 3, "pending", ""],
        [a[6], 3, "pending", ""],
      ],
    );
    const hist = await runFleet(["history", "--json"], env);
    assert.equal(JSON.parse(hist.stdout.trim().split("\n")[0]!).state, "interrupted");

    const resumed = await runFleet(["resume", id], env);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    const after = await Promise.all(fleet.hosts.map((h) => h.reloads()));
    assert.deepEqual(after.map((n, i) => n - before[i]!), Array(7).fill(1), "each service received exactly one reload");
    const final = JSON.parse((await runFleet(["show", id, "--json"], env)).stdout);
    assert.equal(final.rollout.state, "succeeded");
    assert.ok(final.steps.every((s: { outcome: string }) => s.outcome === "reloaded"));
  } finally {
    second.child.kill("SIGTERM");
    await new Promise((r) => second.child.on("exit", r));
  }
});

// Scheduled config rollouts: a seconds-level cron fires, never overlaps itself,
// skips an unchanged source, and a pause survives a controller restart.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { writeInventory } from "../helpers/controller-harness.js";
import { startLocalFleet } from "../helpers/local-fleet.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { CONTROLLER_BIN } from "../helpers/built-bins.js";
import { waitFor } from "../helpers/wait-for.js";

const scratch = scratchDir();
let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
let file: string;
const source = path.join(scratch.dir, "source.json");
const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };

function startDaemon(): Promise<{ child: ChildProcess; output: () => string; stop: () => Promise<void> }> {
  const child = spawn(CONTROLLER_BIN, ["--config", file], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const stop = async () => {
    child.kill("SIGTERM");
    await new Promise((r) => child.on("exit", r));
  };
  return waitFor("the controller to listen", () => out.includes("controller listening"), 20_000).then(() => ({ child, output: () => out, stop }));
}

const scheduled = async () => {
  const r = await runFleet(["history", "--json"], env);
  return r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((x: { schedule: string }) => x.schedule === "every2s");
};
const listed = async () => JSON.parse((await runFleet(["schedules", "--json"], env)).stdout.trim().split("\n")[0]!);

before(async () => {
  // A reload that takes ~2.5s, longer than the cron period of 2s.
  fleet = await startLocalFleet(scratch.dir, 1, "s", { healthyFor: "2500ms", declareConfig: true });
  writeFileSync(source, JSON.stringify({ healthy: true, body: "scheduled-1" }));
  file = writeInventory(
    scratch.dir,
    `  one:\n    service: web\n    hosts: [${fleet.hosts[0]!.address}]\n`,
    "",
  );
  writeFileSync(file, readFileSync(file, "utf8") + `schedules:\n  - name: every2s\n    cron: "*/2 * * * * *"\n    group: one\n    config: { source: ${source}, path: ${fleet.hosts[0]!.service.configFile} }\n`);
});
after(async () => {
  await fleet?.stop();
  scratch.remove();
});

test("a seconds-level schedule fires, never overlaps itself, skips an unchanged source, and its pause survives a restart", async () => {
  let daemon = await startDaemon();
  try {
    const [first] = await waitFor("a scheduled rollout", async () => ((await scheduled()).length ? scheduled() : undefined), 15_000);
    assert.equal(first.reason, "schedule every2s (cron)");
    assert.equal(first.requestedBy, "schedule:every2s@controller");
    // The cron fires every 2s while the ~2.5s rollout runs: the next run is skipped, not started.
    await waitFor("an overlapping fire to be skipped", () => /"outcome":"skipped","rolloutId":null,"reason":"the previous run of every2s is still running/.test(daemon.output()), 10_000);
    await waitFor("the rollout to succeed", async () => (await scheduled())[0].state === "succeeded", 15_000);
    assert.equal((await fleet.hosts[0]!.service.generation()).reloads, 1);
    assert.equal(await (await fetch(`http://127.0.0.1:${fleet.hosts[0]!.service.port}/`)).text(), "scheduled-1");
    // Source unchanged since that success: later fires do nothing and say so.
    await waitFor("an unchanged run", async () => (await listed()).lastRun?.outcome === "unchanged", 10_000);
    assert.match((await listed()).lastRun.reason, /is unchanged since the last successful run; nothing to do/);
    assert.equal((await scheduled()).length, 1);

    const paused = await runFleet(["schedule", "pause", "every2s"], env);
    assert.equal(paused.code, 0, paused.stderr);
    await daemon.stop();
    daemon = await startDaemon();
    const view = await listed();
    assert.equal(view.paused, true, "pause survived the restart");
    assert.equal(Number(view.nextRunMs), 0);
    writeFileSync(source, JSON.stringify({ healthy: true, body: "scheduled-2" }));
    await new Promise((r) => setTimeout(r, 4500));
    assert.equal((await scheduled()).length, 1, "a paused schedule does not fire");

    const run = await runFleet(["schedule", "run", "every2s"], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /every2s: started: rollout \d+/);
    await waitFor("the manual run to succeed", async () => (await scheduled())[0].state === "succeeded", 15_000);
    assert.equal((await scheduled()).length, 2);
    const text = await runFleet(["schedules"], env);
    assert.match(text.stdout, /every2s \[\*\/2 \* \* \* \* \*\] .*source\.json -> one:/);
    assert.match(text.stdout, /paused/);
  } finally {
    await daemon.stop();
  }
});

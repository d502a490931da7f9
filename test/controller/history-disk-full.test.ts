// The history database on a small tmpfs, filled while the canary reloads, then
// freed: the rollout stops acting, keeps the canary's result, ends
// `interrupted` once writing works again, and abort/resume work without
// restarting the controller; every host's true outcome ends up in the history.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { startControllerDaemon, type ControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { startLocalFleet } from "../helpers/local-fleet.js";
import { FLEET_BIN, runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const notRoot = process.getuid?.() === 0 ? undefined : "needs root to mount a tmpfs (CI runs as root)";
if (notRoot) console.log(`# skipping the full-disk history test: ${notRoot}`);

const scratch = scratchDir();
const mnt = path.join(scratch.dir, "histfs");
let mounted = false;
let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
let daemon: ControllerDaemon | undefined;

/** Writes filler files until the file system refuses; returns them. */
function fill(dir: string): string[] {
  const files: string[] = [];
  for (const size of [256 * 1024, 4096, 512]) {
    for (let i = 0; i < 10_000; i++) {
      const f = path.join(dir, `filler-${size}-${i}`);
      const fd = openSync(f, "w");
      files.push(f);
      try {
        writeSync(fd, Buffer.alloc(size));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
        break;
      } finally {
        closeSync(fd);
      }
    }
  }
  return files;
}

before(async () => {
  if (notRoot) return;
  mkdirSync(mnt);
  const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", mnt], { encoding: "utf8", timeout: 10_000 });
  assert.equal(m.status, 0, `mount tmpfs: ${m.stderr}`);
  mounted = true;
  fleet = await startLocalFleet(scratch.dir, 3, "df", { healthyFor: "1500ms" });
});
after(async () => {
  await daemon?.stop();
  await fleet?.stop();
  if (mounted) spawnSync("umount", [mnt], { timeout: 10_000 });
  scratch.remove();
});

test("a full history disk during the canary: interrupted once writable, resumable without a restart, no result lost", { skip: notRoot }, async () => {
  const file = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${fleet.hosts.map((h) => h.address).join(", ")}]\n    policy: { canary: 1, batch: 2 }\n`);
  writeFileSync(file, readFileSync(file, "utf8").replace(`db: ${scratch.dir}/history.db`, `db: ${mnt}/history.db`));
  daemon = await startControllerDaemon(file);
  const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
  const before = await Promise.all(fleet.hosts.map((h) => h.reloads()));

  let fillers: string[] = [];
  const cli = spawn(FLEET_BIN, ["reload", "web", "--json"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, timeout: 60_000 });
  let out = "";
  cli.stdout.on("data", (d) => {
    out += d;
    if (fillers.length === 0 && /"kind":"host_started"/.test(out)) fillers = fill(mnt);
  });
  const code = await new Promise((resolve) => cli.on("exit", resolve));
  const events = out.trim().split("\n").map((l) => JSON.parse(l));
  const id = String(events.find((e) => e.kind === "plan").rolloutId);
  assert.equal(code, 1, out);
  assert.ok(fillers.length > 0, "the disk was filled during the canary");
  assert.deepEqual(events.filter((e) => e.kind === "host_finished").map((e) => [e.outcome, e.ok]), [["reloaded", true]], "the canary finished; nothing else started");
  const finished = events.find((e) => e.kind === "finished");
  assert.equal(finished.outcome, "interrupted");
  assert.match(finished.message, /history could not be written \(database or disk is full\)/);
  assert.match(daemon.output(), /"msg":"history write failed; the rollout stops acting[^\n]*"error":"database or disk is full"/, "the storage error is logged plainly");

  // While the disk is full: reads work, abort and resume say what is going on, nothing is wedged silently.
  const shown = JSON.parse((await runFleet(["show", id, "--json"], env)).stdout);
  assert.equal(shown.rollout.state, "running", "not recorded yet");
  const abort = await runFleet(["abort", id], env);
  assert.equal(abort.code, 0, abort.stderr);
  assert.match(abort.stdout, /already stopped acting: the history cannot be written/);
  const early = await runFleet(["resume", id], env);
  assert.equal(early.code, 1);
  assert.match(early.stderr, /stopped acting because the history cannot be written \(database or disk is full\); it ends interrupted as soon as it can be/);

  for (const f of fillers) rmSync(f, { force: true });
  await waitFor("the rollout to be recorded interrupted", async () => JSON.parse((await runFleet(["show", id, "--json"], env)).stdout).rollout.state === "interrupted", 30_000, 300);
  const recorded = JSON.parse((await runFleet(["show", id, "--json"], env)).stdout);
  assert.deepEqual(recorded.steps.map((s: { status: string; outcome: string }) => [s.status, s.outcome]), [["done", "reloaded"], ["pending", ""], ["pending", ""]], "the canary's result was recorded");
  assert.match(recorded.rollout.summary, /fleet resume \d+ finishes the hosts not done/);

  const resumed = await runFleet(["resume", id], env);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  const after = await Promise.all(fleet.hosts.map((h) => h.reloads()));
  assert.deepEqual(after.map((n, i) => n - before[i]!), [1, 1, 1], "every host reloaded exactly once");
  const final = JSON.parse((await runFleet(["show", id, "--json"], env)).stdout);
  assert.equal(final.rollout.state, "succeeded");
  assert.deepEqual(final.steps.map((s: { outcome: string }) => s.outcome), ["reloaded", "reloaded", "reloaded"]);
  assert.equal(daemon.child.exitCode, null, "the same controller process all along");
});

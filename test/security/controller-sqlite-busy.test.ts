// Guarantee: another process holding the history database's write lock
// (BEGIN IMMEDIATE in an sqlite3 shell, a backup tool) while a rollout runs
// does not freeze the controller: a write waits for the lock only briefly
// (busy timeout 200 ms) and then fails into the journal's retry with backoff,
// and read RPCs (`fleet history`) keep answering — WAL readers are not blocked
// by a writer. (Before, each write attempt blocked the only thread for 5 s.)
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { startControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { startLocalFleet } from "../helpers/local-fleet.js";
import { FLEET_BIN, runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const scratch = scratchDir();
let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
before(async () => {
  fleet = await startLocalFleet(scratch.dir, 3, "y", { healthyFor: "1s" });
});
after(async () => {
  await fleet?.stop();
  scratch.remove();
});

test("a write lock held by another process does not freeze the controller's read RPCs", async () => {
  const file = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${fleet.hosts.map((h) => h.address).join(", ")}]\n`);
  const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
  const d = await startControllerDaemon(file);
  const holder = spawn(process.execPath, ["-e", `const D=require(${JSON.stringify(require_("better-sqlite3"))});const db=new D(${JSON.stringify(`${scratch.dir}/history.db`)});process.stdin.once('data',()=>{db.exec('BEGIN IMMEDIATE');console.log('locked')});setTimeout(()=>process.exit(0),15000)`], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    const cli = spawn(FLEET_BIN, ["reload", "web", "--yes", "--batch", "1"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    cli.stdout.on("data", (x) => (out += x));
    await waitFor("the first host in flight", () => /host_started/.test(out), 20_000);
    holder.stdin!.write("go\n");
    await new Promise((r) => holder.stdout!.once("data", r));
    let worst = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 8000) {
      const t = Date.now();
      await runFleet(["history", "--limit", "1"], env, 15_000);
      worst = Math.max(worst, Date.now() - t);
      await new Promise((r) => setTimeout(r, 200));
    }
    cli.kill();
    assert.ok(worst < 2000, `fleet history took up to ${worst} ms while another process held the write lock`);

    // The lock goes away: the journal's retry records what the rollout knew, it ends interrupted, and resume finishes it.
    holder.kill("SIGKILL");
    await waitFor("rollout 1 to end interrupted", async () => /^1\s+interrupted\s+web/m.test((await runFleet(["history"], env)).stdout), 30_000, 500);
    const resumed = await runFleet(["resume", "1"], env, 30_000);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.match((await runFleet(["history"], env)).stdout, /^1\s+succeeded\s+web/m);
  } finally {
    holder.kill("SIGKILL");
    d.child.kill("SIGKILL");
    await d.exited;
  }
});

function require_(name: string): string {
  return new URL(`../../node_modules/${name}`, import.meta.url).pathname;
}

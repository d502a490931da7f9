// Guarantee: a credential file that is not a small regular file — a FIFO, a
// directory, a device such as /dev/zero put in the agents' token file's place —
// never blocks the controller. A SIGHUP naming one is refused promptly with
// the field named, and a later SIGHUP with the file fixed is applied (the
// reload queue is not stuck behind a read that never ends). Mid-rollout, the
// re-check before each agent call fails that host with the reason while the
// controller keeps answering other callers. (Credential files are opened
// O_NONBLOCK, checked with fstat and read up to a size cap:
// common/read-small-file.ts, shared with the agent.)
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { startControllerDaemon, type ControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { startLocalFleet } from "../helpers/local-fleet.js";
import { FLEET_BIN, runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const scratch = scratchDir();
const token = `${scratch.dir}/agent.token`;
let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
let file: string;
const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };

function validToken() {
  rmSync(token, { force: true, recursive: true });
  writeFileSync(token, "0123456789abcdef0123456789\n");
}
const broken: Record<string, () => void> = {
  "a FIFO": () => execFileSync("mkfifo", [token]),
  "a directory": () => mkdirSync(token),
  "/dev/zero": () => symlinkSync("/dev/zero", token),
};
function breakToken(how: string) {
  rmSync(token, { force: true, recursive: true });
  broken[how]!();
}
async function kill(d: ControllerDaemon) {
  d.child.kill("SIGKILL");
  await d.exited;
}
const count = (text: string, what: RegExp) => (text.match(new RegExp(what, "g")) ?? []).length;

before(async () => {
  fleet = await startLocalFleet(scratch.dir, 1, "q", { healthyFor: "200ms" });
  validToken();
  file = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${fleet.hosts[0]!.address}]\n`);
  writeFileSync(file, readFileSync(file, "utf8").replace("agents: { deadline: 3s", `agents: { token_file: ${token}, deadline: 3s`));
});
after(async () => {
  await fleet?.stop();
  scratch.remove();
});

test("SIGHUP with the token file swapped for a FIFO, a directory or /dev/zero is refused at once, naming the field; a later SIGHUP with it fixed is applied", async () => {
  validToken();
  const original = readFileSync(file, "utf8");
  const d = await startControllerDaemon(file);
  try {
    for (const [i, how] of Object.keys(broken).entries()) {
      breakToken(how);
      d.child.kill("SIGHUP");
      // Generous: the refusal needs no I/O beyond an open and an fstat.
      await waitFor(`the SIGHUP with ${how} to be refused`, () => count(d.output(), /inventory reload refused/) === i + 1, 5000);
      const refusal = d.output().split("\n").filter((l) => l.includes("inventory reload refused")).pop()!;
      assert.match(refusal, /agents\.token_file/, `the refusal names the field: ${refusal}`);

      validToken();
      const group = `web${i + 2}`;
      writeFileSync(file, original.replace("groups:\n", `groups:\n  ${group}:\n    service: web\n    hosts: [${fleet.hosts[0]!.address}]\n`));
      d.child.kill("SIGHUP");
      await waitFor(`the fixed inventory after ${how} to be applied`, () => count(d.output(), /"inventory reloaded"/) === i + 1, 5000);
      const r = await runFleet(["reload", group, "--dry-run"], env, 10_000);
      assert.equal(r.code, 0, `the fixed inventory (with group ${group}) was not applied after ${how}: ${r.stderr}\nlog:\n${d.output()}`);
    }
    assert.equal(d.child.exitCode, null, "the controller is still running");
  } finally {
    await kill(d);
    writeFileSync(file, original);
    validToken();
  }
});

test("a token file replaced by a FIFO mid-rollout fails that host with the reason; the controller keeps answering", async () => {
  validToken();
  const d = await startControllerDaemon(file);
  try {
    breakToken("a FIFO");
    const cli = spawn(FLEET_BIN, ["reload", "web", "--yes"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    cli.stdout.on("data", (x) => (out += x));
    cli.stderr.on("data", (x) => (out += x));
    // Bounded: a controller blocked opening the FIFO would never answer.
    const bound = setTimeout(() => cli.kill("SIGKILL"), 20_000);
    const code = await new Promise<number | null>((r) => cli.on("exit", r));
    clearTimeout(bound);
    assert.notEqual(code, 0, `the reload succeeded with a FIFO for a token:\n${out}`);
    assert.match(out, /agents\.token_file .* can no longer be used \(.* is not a regular file\)/, out);
    const h = await runFleet(["history"], env, 5000);
    assert.equal(h.code, 0, `fleet history got no answer: ${h.stderr}`);
    assert.match(h.stdout, /^1\s+failed\s+web/m, h.stdout);
  } finally {
    await kill(d);
    validToken();
  }
});

// Guarantee: one controller per history database and per listen socket. A
// second fleet-controller started next to a running one (a double start, a
// manual start beside the service) is refused before it touches anything: the
// history's lease names the running controller, so the second never marks the
// first one's running rollout interrupted nor releases its group and host
// locks; a second controller on another database but the same socket leaves
// the running one's socket alone. A stale socket file (nobody listening) is
// replaced, and a controller killed with -9 can be restarted at once.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, lstatSync, readFileSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { freePort } from "../../common/free-port.js";
import { CONTROLLER_BIN, startControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { startLocalFleet } from "../helpers/local-fleet.js";
import { FLEET_BIN, runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const scratch = scratchDir();
let fleet: Awaited<ReturnType<typeof startLocalFleet>>;

before(async () => {
  fleet = await startLocalFleet(scratch.dir, 2, "d");
});
after(async () => {
  await fleet?.stop();
  scratch.remove();
});

/** Runs a second controller to its end (bounded) and gives its exit code and output. */
function runSecond(config: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(CONTROLLER_BIN, ["--config", config], { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

test("a second controller on the same inventory is refused by the history's lease and leaves the running one's rollout and locks alone", async () => {
  const [a, b] = fleet.hosts.map((h) => h.address);
  const port = await freePort();
  const file = writeInventory(scratch.dir, `  front:\n    service: web\n    hosts: [${a}, ${b}]\n    canary: [${a}]\n  back:\n    service: web\n    hosts: [${b}]\n`, `metrics: { listen: 127.0.0.1:${port}, agent_check: 0s }\n`);
  const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
  const first = await startControllerDaemon(file);
  const cli = spawn(FLEET_BIN, ["reload", "front", "--canary", "1", "--batch", "1", "--pause", "8s", "--yes"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
  try {
    let out = "";
    cli.stdout.on("data", (d) => (out += d));
    await waitFor("the pause after the canary", () => /pause/.test(out), 20_000);
    assert.equal((await runFleet(["reload", "back", "--yes"], env)).code, 1, "refused while front holds the shared host");

    const second = await runSecond(file);
    assert.equal(second.code, 1, second.out);
    assert.match(second.out, new RegExp(`history\\.db: fleet-controller pid ${first.child.pid} on .* is using this history database; one controller per database`), second.out);
    assert.doesNotMatch(second.out, /interrupted|listening/, "the second controller did nothing before it was refused");

    const history = await runFleet(["history"], env);
    assert.match(history.stdout, /^1\s+running\s+front/m, `the first controller is still running rollout 1:\n${history.stdout}`);
    const back = await runFleet(["reload", "back", "--yes"], env);
    assert.equal(back.code, 1, `a rollout on the shared host was accepted while rollout 1 still runs it:\n${back.stdout}${back.stderr}`);
    assert.match(back.stderr, /is busy: rollout 1/);
  } finally {
    cli.kill();
    await first.stop();
  }
});

test("a second controller on another database but the same socket is refused and leaves the socket to the running one", async () => {
  const file = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${fleet.hosts[0]!.address}]\n`);
  const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
  const first = await startControllerDaemon(file);
  try {
    const other = `${scratch.dir}/other.yaml`;
    writeFileSync(other, readFileSync(file, "utf8").replace(`db: ${scratch.dir}/history.db`, `db: ${scratch.dir}/other.db`));
    const second = await runSecond(other);
    assert.equal(second.code, 1, second.out);
    assert.match(second.out, /cannot listen on unix:.*controller\.sock: another process \(another fleet-controller\?\) is serving this socket/);
    assert.ok(lstatSync(`${scratch.dir}/controller.sock`).isSocket(), "the running controller's socket is still there");
    const h = await runFleet(["history"], env, 10_000);
    assert.equal(h.code, 0, `the running controller still answers on its socket: ${h.stderr}`);
    assert.doesNotMatch(second.out, /interrupted/);
  } finally {
    await first.stop();
  }
});

test("a stale socket file is replaced, and a controller killed with -9 is restarted at once", async () => {
  const file = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${fleet.hosts[0]!.address}]\n`);
  const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
  const first = await startControllerDaemon(file);
  first.child.kill("SIGKILL");
  await first.exited;
  // What a kill -9 leaves: the socket file nobody listens on, and the lease of a dead process.
  assert.ok(existsSync(`${scratch.dir}/controller.sock`));
  const again = await startControllerDaemon(file);
  try {
    const h = await runFleet(["history"], env, 10_000);
    assert.equal(h.code, 0, h.stderr);
  } finally {
    await again.stop();
  }
});

test("a controller frozen past its lease is replaced; when it wakes it learns so and exits 1 without serving on", async () => {
  const file = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${fleet.hosts[0]!.address}]\n`);
  const frozen = await startControllerDaemon(file);
  // The successor serves its own socket: a stopped process's socket still accepts connections (the kernel queues them).
  const other = `${scratch.dir}/successor.yaml`;
  writeFileSync(other, readFileSync(file, "utf8").replace(`unix:${scratch.dir}/controller.sock`, `unix:${scratch.dir}/successor.sock`));
  frozen.child.kill("SIGSTOP");
  let successor: Awaited<ReturnType<typeof startControllerDaemon>> | undefined;
  try {
    // Refused (naming the frozen one) until its lease lapses, 10 s after its last renewal.
    successor = await waitFor("the frozen controller's lease to lapse", () => startControllerDaemon(other).catch(() => undefined), 40_000, 1000);
    frozen.child.kill("SIGCONT");
    const code = await Promise.race([frozen.exited, new Promise((r) => setTimeout(() => r("still running 15 s after waking"), 15_000))]);
    assert.equal(code, 1, frozen.output());
    assert.match(frozen.output(), /another controller took over the history database; stopping without writing to it/);
    const h = await runFleet(["history"], { FLEET_CONTROLLER: `unix:${scratch.dir}/successor.sock` }, 10_000);
    assert.equal(h.code, 0, h.stderr);
  } finally {
    frozen.child.kill("SIGCONT");
    frozen.child.kill("SIGKILL");
    await successor?.stop();
  }
});

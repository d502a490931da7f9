// Fencing on a real agent: an older epoch of a controller is refused with both
// epochs named and nothing done, across an agent restart (the fence is on
// disk); calls without the metadata (the `fleet agent` CLI) still work. The
// hostile cases: a state_dir swapped for a symlink or left writable by others,
// a corrupt epoch file, headers that come alone or malformed, and a burst of
// concurrent calls with shuffled epochs (the newest wins, no temp file left).
// A call whose epoch the agent already knows is judged without reading the file
// when the file and the way to it are as last read: anything a read would refuse
// must still be refused (state_dir chmod'ed, chown'ed or swapped for a symlink
// after the last read), and pruning the file as the 64-identity refusal says
// works without restarting the agent.
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { AgentCallError, createAgentClient, type AgentClient } from "../../common/agent-client.js";
import { spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";

const scratch = scratchDir("fencing-");
const stateDir = path.join(scratch.dir, "state");
const conf = path.join(scratch.dir, "agent.yaml");
let web: WebService;
let agent: AgentProcess;
const clients: AgentClient[] = [];
let n = 0;

const as = (controllerId: string, takeover: number, start: number) => {
  const c = createAgentClient(agent.address, { fencing: { controllerId, epoch: { takeover, start } } });
  clients.push(c);
  return c;
};
const reload = (c: AgentClient) => c.reload({ requestId: `fence-${++n}`, service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
const reloads = async () => (await web.generation()).reloads;
const refusal = async (p: Promise<unknown>): Promise<AgentCallError> => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof AgentCallError, `expected a refusal, got ${String(err)}`);
  return err;
};
const epochsOnDisk = () => JSON.parse(readFileSync(path.join(stateDir, "controller-epochs.json"), "utf8")).controllers as Record<string, { epoch: string; seen_at: string }>;

before(async () => {
  web = await startWebService(scratch.dir, "web");
  writeFileSync(
    conf,
    `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${stateDir}\nlimits: { mutations_per_second: 1000 }\nservices:\n  web:\n    reload: { signal: HUP, pidfile: ${web.pidfile} }\n    generation: { http: "http://127.0.0.1:${web.port}/generation", json: generation }\n    health: [{ http: "http://127.0.0.1:${web.port}/healthz" }]\n    healthy_for: 100ms\n`,
  );
  agent = await spawnAgent(conf);
});
after(async () => {
  clients.forEach((c) => c.close());
  await agent?.stopInside();
  await web?.stop();
  scratch.remove();
});

test("an older epoch is refused naming both, also after the agent restarts; unfenced calls still work", async () => {
  const start = await reloads();
  assert.equal((await reload(as("ctl01", 1, 1))).ok, true);
  assert.deepEqual(epochsOnDisk(), { ctl01: { epoch: "1.1", seen_at: epochsOnDisk().ctl01!.seen_at } });
  assert.equal(statSync(path.join(stateDir, "controller-epochs.json")).mode & 0o777, 0o600);

  const err = await refusal(reload(as("ctl01", 0, 7)));
  assert.equal(err.code, status.FAILED_PRECONDITION);
  assert.match(err.message, /controller ctl01 at epoch 0\.7 is fenced: this agent has accepted epoch 1\.1 from controller ctl01/);
  assert.equal(await reloads(), start + 1, "nothing was reloaded");
  // Another controller identity is fenced separately; the same epoch again is fine.
  assert.equal((await reload(as("other", 0, 1))).ok, true);
  assert.equal((await reload(as("ctl01", 1, 1))).ok, true);

  await agent.stopInside();
  agent = await spawnAgent(conf);
  const again = await refusal(reload(as("ctl01", 1, 0)));
  assert.match(again.message, /epoch 1\.0 is fenced: this agent has accepted epoch 1\.1/);
  const fence = await as("ctl01", 2, 1).fence();
  assert.deepEqual([fence.controllerId, fence.epoch], ["ctl01", "2.1"]);
  assert.match((await refusal(as("ctl01", 1, 9).fence())).message, /epoch 1\.9 is fenced: this agent has accepted epoch 2\.1/);

  // The operator's debugging CLI carries no epoch: allowed (and logged as unfenced).
  const cli = await runFleet(["agent", "reload", agent.address, "web", "--json"]);
  assert.equal(cli.code, 0, cli.stdout + cli.stderr);
  assert.match(agent.output(), /call without a controller epoch: not fenced/);
  assert.equal(await reloads(), start + 4);
});

test("headers alone or malformed are refused; Fence without them too", async () => {
  const raw = createAgentClient(agent.address);
  clients.push(raw);
  assert.equal((await refusal(raw.fence())).code, status.INVALID_ARGUMENT);
  for (const id of ["../../etc", "", "x".repeat(65)]) {
    const err = await refusal(reload(as(id, 1, 1)));
    assert.equal(err.code, status.INVALID_ARGUMENT, id);
  }
});

test("a burst of concurrent calls with shuffled epochs: the newest is what stays, and no temp file is left", async () => {
  const epochs = Array.from({ length: 40 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
  // Each client has its own connection: opened (an unfenced call) a few at a time first, since the
  // agent admits only so many unauthenticated connections per peer at once (a flood is evicted).
  const callers = epochs.map((e) => as("burst", 0, e));
  for (let i = 0; i < callers.length; i += 8) await Promise.all(callers.slice(i, i + 8).map((c) => c.describe()));
  const results = await Promise.allSettled(callers.map((c) => c.fence()));
  assert.ok(results.some((r) => r.status === "fulfilled"));
  assert.equal(epochsOnDisk().burst!.epoch, "0.40");
  assert.deepEqual(readdirSync(stateDir).filter((f) => f.includes("controller-epochs") && f !== "controller-epochs.json"), []);
  for (const r of results) if (r.status === "rejected") assert.match(String(r.reason), /is fenced: this agent has accepted epoch 0\.\d+/);
  callers.forEach((c) => c.close());
});

test("a change to the epoch file behind the agent's back is seen by the next call: replaced, or edited in place to the same size", async () => {
  const file = path.join(stateDir, "controller-epochs.json");
  // Known and unchanged: judged without reading the file, many times over.
  assert.equal((await reload(as("quiet", 0, 5))).ok, true);
  for (let i = 0; i < 20; i++) assert.equal((await reload(as("quiet", 0, 5))).ok, true);
  // A newer epoch written by another hand, the file replaced (a new inode).
  const text = readFileSync(file, "utf8");
  writeFileSync(`${file}.new`, text.replace(/("quiet": \{\s*"epoch": )"0\.5"/, '$1"0.6"'), { mode: 0o600 });
  renameSync(`${file}.new`, file);
  assert.match((await refusal(reload(as("quiet", 0, 5)))).message, /epoch 0\.5 is fenced: this agent has accepted epoch 0\.6/);
  // The same inode rewritten in place to the same size: the ctime moves.
  assert.equal((await reload(as("inplace", 0, 1))).ok, true);
  assert.equal((await reload(as("inplace", 0, 1))).ok, true);
  const before = readFileSync(file, "utf8");
  const edited = before.replace(/("inplace": \{\s*"epoch": )"0\.1"/, '$1"0.2"');
  assert.notEqual(edited, before);
  assert.equal(edited.length, before.length);
  writeFileSync(file, edited);
  assert.match((await refusal(reload(as("inplace", 0, 1)))).message, /epoch 0\.1 is fenced: this agent has accepted epoch 0\.2/);
});

test("a hostile state_dir: symlink, writable by others, corrupt file — fenced calls refused, nothing done; unfenced calls unaffected", async () => {
  const start = await reloads();
  const c = as("ctl01", 3, 1);

  chmodSync(stateDir, 0o777);
  assert.match((await refusal(reload(c))).message, /state_dir .* mode 0777: the controller epochs this agent fences with are kept only in a directory that uid 0 owns and no one else can write/);
  chmodSync(stateDir, 0o700);

  const real = `${stateDir}.real`;
  const elsewhere = path.join(scratch.dir, "elsewhere");
  mkdirSync(elsewhere, { mode: 0o700 });
  renameSync(stateDir, real);
  symlinkSync(elsewhere, stateDir);
  assert.match((await refusal(reload(c))).message, /is a symlink or not a directory/);
  assert.deepEqual(readdirSync(elsewhere), [], "nothing written through the symlink");
  rmSync(stateDir);
  renameSync(real, stateDir);

  const file = path.join(stateDir, "controller-epochs.json");
  const good = readFileSync(file);
  writeFileSync(file, "{ truncated");
  const corrupt = await refusal(reload(c));
  assert.equal(corrupt.code, status.FAILED_PRECONDITION);
  assert.match(corrupt.message, /controller-epochs.json cannot be read \(not JSON.*calls from controllers are refused until it is repaired or removed/);
  assert.equal(await reloads(), start, "nothing was reloaded by a refused call");
  const unfenced = createAgentClient(agent.address);
  clients.push(unfenced);
  assert.equal((await reload(unfenced)).ok, true, "the debugging path is not blocked by a broken epoch file");
  writeFileSync(file, good);
  assert.equal((await reload(c)).ok, true);
});

/** Records the controller's epoch and reads it back once, so its next call would take the fast path. */
async function known(id: string): Promise<AgentClient> {
  const c = as(id, 0, 1);
  assert.equal((await reload(c)).ok, true);
  assert.equal((await reload(c)).ok, true);
  return c;
}

test("state_dir made writable by others after the last read: a known epoch is refused as a read refuses it", async () => {
  const c = await known("ctlA");
  chmodSync(stateDir, 0o777);
  try {
    assert.match((await refusal(reload(c))).message, /mode 0777/);
  } finally {
    chmodSync(stateDir, 0o700);
  }
  assert.equal((await reload(c)).ok, true);
});

test("state_dir given to another owner after the last read: refused", async () => {
  const c = await known("ctlB");
  chownSync(stateDir, 65534, 65534);
  try {
    assert.match((await refusal(reload(c))).message, /owned by uid 65534/);
  } finally {
    chownSync(stateDir, 0, 0);
  }
});

test("state_dir swapped for a symlink to the same directory after the last read: refused", async () => {
  const c = await known("ctlC");
  const real = path.join(scratch.dir, "moved-state");
  renameSync(stateDir, real);
  symlinkSync(real, stateDir);
  try {
    await refusal(reload(c));
  } finally {
    rmSync(stateDir);
    renameSync(real, stateDir);
  }
  assert.equal((await reload(c)).ok, true);
});

test("after pruning the file as the 64-identity refusal says, a new controller is accepted without a restart", async () => {
  const file = path.join(stateDir, "controller-epochs.json");
  const epochs = (ids: string[]) => JSON.stringify({ version: 1, controllers: Object.fromEntries(ids.map((id) => [id, { epoch: "0.1", seen_at: "2026-01-01T00:00:00.000Z" }])) });
  writeFileSync(file, epochs(Array.from({ length: 64 }, (_, i) => `old${i}`)), { mode: 0o600 });
  const fresh = as("newctl", 0, 1);
  assert.match((await refusal(fresh.fence())).message, /already remembers 64 controller identities; remove the ones no longer in use from .*controller-epochs\.json/);
  writeFileSync(file, epochs(["old0", "old1"]), { mode: 0o600 });
  assert.equal((await fresh.fence()).controllerId, "newctl");
});

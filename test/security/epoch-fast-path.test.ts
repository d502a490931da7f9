// The agent judges a fenced call whose epoch it already knows without reading the epoch file when
// the file and every directory on the way to it are as the last read found them. Anything a read
// would refuse must still be refused: state_dir made writable by others, given to another owner or
// swapped for a symlink after the last read. And what it knows is rebuilt from the file at each
// read: pruning the file as the 64-identity refusal says works without restarting the agent.
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { AgentCallError, createAgentClient, type AgentClient } from "../../common/agent-client.js";
import { spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";

const scratch = scratchDir("epoch-fast-path-");
const stateDir = path.join(scratch.dir, "state");
const epochFile = path.join(stateDir, "controller-epochs.json");
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
const reload = (c: AgentClient) =>
  c.reload({ requestId: `fast-${++n}`, service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 }).then(
    (r) => (r.ok ? "accepted" : `not ok: ${r.reason}`),
    (e: unknown) => (e instanceof AgentCallError ? `refused: ${e.message}` : String(e)),
  );
const epochs = (ids: string[]) => JSON.stringify({ version: 1, controllers: Object.fromEntries(ids.map((id) => [id, { epoch: "0.1", seen_at: "2026-01-01T00:00:00.000Z" }])) });

before(async () => {
  mkdirSync(stateDir, { mode: 0o700 });
  web = await startWebService(scratch.dir, "web");
  writeFileSync(conf, `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${stateDir}\nlimits: { mutations_per_second: 1000 }\nservices:\n  web:\n    reload: { signal: HUP, pidfile: ${web.pidfile} }\n    generation: { http: "http://127.0.0.1:${web.port}/generation", json: generation }\n    health: [{ http: "http://127.0.0.1:${web.port}/healthz" }]\n    healthy_for: 0ms\n`);
  agent = await spawnAgent(conf);
});
after(async () => {
  clients.forEach((c) => c.close());
  await agent?.stopInside();
  await web?.stop();
  scratch.remove();
});

/** Records the controller's epoch and reads it back once, so its next call would take the fast path. */
async function known(id: string): Promise<AgentClient> {
  const c = as(id, 0, 1);
  assert.equal(await reload(c), "accepted");
  assert.equal(await reload(c), "accepted");
  return c;
}

test("state_dir made writable by others after the last read: a known epoch is refused as a read refuses it", async () => {
  const c = await known("ctlA");
  chmodSync(stateDir, 0o777);
  try {
    assert.match(await reload(c), /^refused: .*mode 0777/);
  } finally {
    chmodSync(stateDir, 0o700);
  }
  assert.equal(await reload(c), "accepted");
});

test("state_dir given to another owner after the last read: refused", async () => {
  const c = await known("ctlB");
  chownSync(stateDir, 65534, 65534);
  try {
    assert.match(await reload(c), /^refused: .*owned by uid 65534/);
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
    assert.match(await reload(c), /^refused: /);
  } finally {
    rmSync(stateDir);
    renameSync(real, stateDir);
  }
  assert.equal(await reload(c), "accepted");
});

test("after pruning the file as the 64-identity refusal says, a new controller is accepted without a restart", async () => {
  writeFileSync(epochFile, epochs(Array.from({ length: 64 }, (_, i) => `old${i}`)), { mode: 0o600 });
  const fresh = as("newctl", 0, 1);
  const refused = await fresh.fence().then(() => "ok", (e: AgentCallError) => e.message);
  assert.match(refused, /already remembers 64 controller identities; remove the ones no longer in use from .*controller-epochs\.json/);
  writeFileSync(epochFile, epochs(["old0", "old1"]), { mode: 0o600 });
  assert.equal(await fresh.fence().then(() => "ok", (e: AgentCallError) => e.message), "ok");
});

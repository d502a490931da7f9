// Fencing is checked again when queued work starts. An old controller's
// RollbackConfig, PushConfig and Reload admitted while the service was busy
// (so they wait for its lock) must not act once a newer epoch of that
// controller has been fenced in meanwhile: each is refused with the same
// FAILED_PRECONDITION as at admission, the file is unchanged, nothing reloads.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { AgentCallError, createAgentClient, type AgentClient } from "../../common/agent-client.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const scratch = scratchDir("fence-queued-");
const conf = path.join(scratch.dir, "app.conf");
const hold = path.join(scratch.dir, "HOLD");
const count = path.join(scratch.dir, "reloads");
let agent: AgentHarness;
const clients: AgentClient[] = [];

const as = (takeover: number, start: number) => {
  const c = createAgentClient(agent.address, { deadlineMs: 60_000, fencing: { controllerId: "ctl01", epoch: { takeover, start } } });
  clients.push(c);
  return c;
};
const reloads = () => readFileSync(count, "utf8").split("\n").filter(Boolean).length;
let n = 0;
const push = (c: AgentClient, s: string) => c.pushConfig({ requestId: `p${++n}`, service: "app", allowRestart: false, files: [{ path: conf, content: Buffer.from(s), sha256: sha(s) }] });

before(async () => {
  writeFileSync(conf, "v0\n");
  writeFileSync(count, "");
  agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
limits: { mutations_per_second: 1000, max_concurrent_reloads: 8 }
services:
  app:
    reload: { command: [/bin/sh, -c, 'echo r >> ${count}'] }
    generation: none
    healthy_for: 0ms
    check: [/bin/sh, -c, 'while [ -e ${hold} ]; do sleep 0.02; done']
    check_mode: live
    command_timeout: 60s
    configs: [{ path: ${conf} }]
`, { deadlineMs: 60_000 });
});
after(async () => {
  rmSync(hold, { force: true });
  clients.forEach((c) => c.close());
  await agent?.stop();
  scratch.remove();
});

test("calls of an old epoch queued behind busy work are refused once a newer epoch is fenced", async () => {
  assert.match((await push(agent.client, "v1\n")).reason, /^installed/);
  assert.equal(reloads(), 1);

  // An unfenced push holds the service (its check waits for HOLD to go).
  writeFileSync(hold, "");
  const busy = push(agent.client, "v2\n");
  await waitFor("the busy push to be admitted", () => agent.core.inProgress().length === 1);

  const old = as(0, 1);
  const outcome = (p: Promise<unknown>) => p.then((r) => ({ ok: r }), (err: unknown) => ({ err }));
  const queued = {
    RollbackConfig: outcome(old.rollbackConfig({ requestId: "old-rb", service: "app", allowRestart: false, files: [{ path: conf, sha256: sha("v0\n") }] })),
    PushConfig: outcome(push(old, "old-v3\n")),
    Reload: outcome(old.reload({ requestId: "old-rl", service: "app", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 })),
  };
  // All three passed admission at epoch 0.1 and wait for the service.
  await waitFor("the old controller's calls to be queued", () => agent.core.inProgress().length === 4, 20_000);

  const fence = await as(1, 1).fence();
  assert.equal(fence.epoch, "1.1");
  rmSync(hold);
  assert.match((await busy).reason, /^installed/);

  for (const [rpc, p] of Object.entries(queued)) {
    const r = await p;
    assert.ok("err" in r, `${rpc} of the fenced epoch 0.1 acted after the fence: ${JSON.stringify("ok" in r ? (r.ok as { reason?: string }).reason : r)}`);
    const err = r.err as AgentCallError;
    assert.ok(err instanceof AgentCallError, String(err));
    assert.equal(err.code, status.FAILED_PRECONDITION, `${rpc}: ${err.message}`);
    assert.match(err.message, /controller ctl01 at epoch 0\.1 is fenced: this agent has accepted epoch 1\.1 from controller ctl01/, rpc);
  }
  assert.equal(readFileSync(conf, "utf8"), "v2\n", "the file changed after the fence");
  assert.equal(reloads(), 2, "a fenced call reloaded the service");

  // The newer epoch is not refused: its rollback acts.
  const rb = await as(1, 1).rollbackConfig({ requestId: "new-rb", service: "app", allowRestart: false, files: [{ path: conf, sha256: sha("v1\n") }] });
  assert.match(rb.reason, /^installed/, rb.reason);
  assert.equal(readFileSync(conf, "utf8"), "v1\n");
});

test("a newer controller resuming with the same request id gets the request run once, for it", async () => {
  const ctl = (takeover: number) => {
    const c = createAgentClient(agent.address, { deadlineMs: 60_000, fencing: { controllerId: "ctl02", epoch: { takeover, start: 1 } } });
    clients.push(c);
    return c;
  };
  const before = reloads();
  const live = readFileSync(conf, "utf8");
  writeFileSync(hold, "");
  const busy = push(agent.client, "v4\n");
  await waitFor("the busy push to be admitted", () => agent.core.inProgress().length === 1);
  const request = { requestId: "resumed-rb", service: "app", allowRestart: false, files: [{ path: conf, sha256: sha(live) }] };
  const old = ctl(0).rollbackConfig(request).then(() => "acted", (err: AgentCallError) => err);
  await waitFor("the old controller's rollback to be queued", () => agent.core.inProgress().length === 2, 20_000);
  await ctl(1).fence();
  // Joins the queued request (same id and content). Given time to be admitted and join; had it
  // not joined in time it would run on its own, with the same observable result.
  const resumed = ctl(1).rollbackConfig(request);
  await new Promise((r) => setTimeout(r, 500));
  rmSync(hold);
  assert.match((await busy).reason, /^installed/);

  const refused = await old;
  assert.ok(refused instanceof AgentCallError && refused.code === status.FAILED_PRECONDITION, `the fenced controller's rollback: ${String(refused)}`);
  const r = await resumed;
  assert.match(r.reason, /^installed/, r.reason);
  assert.equal(readFileSync(conf, "utf8"), live, "the resumed rollback restored the version");
  assert.equal(reloads(), before + 2, "the busy push and the rollback, once");
});

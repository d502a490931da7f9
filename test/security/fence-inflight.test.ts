// A Fence that returns OK means no change of an older epoch of that controller
// lands any more, also for changes already running when it came (a real agent):
// - an old-epoch push whose staged check is running when the Fence comes: the
//   Fence returns at once, and the push is refused at its commit point (right
//   before the install) with the epoch refusal; nothing installed, no reload;
// - the same for an old-epoch Reload whose config check is running: refused
//   right before the reload would be sent; nothing sent;
// - an old-epoch push already past its commit point (reloading): the Fence
//   returns only after that push ended, so nothing changes after it returned;
// - the same with a Fence deadline shorter than that push: the Fence fails
//   with UNAVAILABLE naming the change still in progress (the new epoch is
//   recorded all the same), and a later Fence returns OK once it ended.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { AgentCallError, createAgentClient, type AgentClient } from "../../common/agent-client.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const scratch = scratchDir("fence-inflight-");
const confDir = path.join(scratch.dir, "conf");
const conf = path.join(confDir, "app.conf");
/** While it exists the check waits; CHECKING says the check runs. */
const holdCheck = path.join(scratch.dir, "HOLD-CHECK");
const checking = path.join(scratch.dir, "CHECKING");
/** While it exists the reload command waits; each reload appends a line to `count` first. */
const holdReload = path.join(scratch.dir, "HOLD-RELOAD");
const count = path.join(scratch.dir, "reloads");
let agent: AgentHarness;
const clients: AgentClient[] = [];
const ctl = (id: string, takeover: number, deadlineMs = 60_000) => {
  const c = createAgentClient(agent.address, { deadlineMs, fencing: { controllerId: id, epoch: { takeover, start: 1 } } });
  clients.push(c);
  return c;
};
const reloads = () => readFileSync(count, "utf8").split("\n").filter(Boolean).length;
let n = 0;
const push = (c: AgentClient, s: string) => c.pushConfig({ requestId: `p${++n}`, service: "app", allowRestart: false, files: [{ path: conf, content: Buffer.from(s), sha256: sha(s) }] });
const settled = <T>(p: Promise<T>) => p.then((ok) => ({ ok }), (err: AgentCallError) => ({ err }));

before(async () => {
  const { mkdirSync } = await import("node:fs");
  mkdirSync(confDir);
  writeFileSync(conf, "v0\n");
  writeFileSync(count, "");
  agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
limits: { mutations_per_second: 1000, max_concurrent_reloads: 8 }
services:
  app:
    reload: { command: [/bin/sh, -c, 'echo r >> ${count}; while [ -e ${holdReload} ]; do sleep 0.02; done'] }
    generation: none
    healthy_for: 0ms
    check: [/bin/sh, -c, 'touch ${checking}; while [ -e ${holdCheck} ]; do sleep 0.02; done']
    command_timeout: 60s
    configs: [{ path: ${conf} }]
`, { deadlineMs: 60_000 });
});
after(async () => {
  rmSync(holdCheck, { force: true });
  rmSync(holdReload, { force: true });
  clients.forEach((c) => c.close());
  await agent?.stop();
  scratch.remove();
});

test("an old-epoch push still checking when the Fence comes is refused at its commit point: nothing installed, no reload", async () => {
  const live = readFileSync(conf, "utf8");
  const before = reloads();
  writeFileSync(holdCheck, "");
  rmSync(checking, { force: true });
  const old = settled(push(ctl("ctlA", 0), "old-controller\n"));
  await waitFor("the old push's check to run", () => existsSync(checking), 20_000);
  const fence = await ctl("ctlA", 1).fence();
  assert.equal(fence.epoch, "1.1");
  rmSync(holdCheck);
  const r = await old;
  assert.ok("err" in r, "the fenced controller's push acted after the Fence returned");
  assert.equal(r.err.code, status.FAILED_PRECONDITION, r.err.message);
  assert.match(r.err.message, /controller ctlA at epoch 0\.1 is fenced: this agent has accepted epoch 1\.1 .*nothing was done/);
  assert.equal(readFileSync(conf, "utf8"), live, "the fenced controller's file was installed");
  assert.equal(reloads(), before, "the fenced controller's push reloaded the service");
  assert.deepEqual(readdirSync(confDir).filter((f) => f !== "app.conf"), [], "temp files left beside the config");
  assert.deepEqual(agent.core.inProgress(), []);
});

test("an old-epoch Reload still checking when the Fence comes is refused right before the signal: nothing sent", async () => {
  const before = reloads();
  writeFileSync(holdCheck, "");
  rmSync(checking, { force: true });
  const old = settled(ctl("ctlR", 0).reload({ requestId: `r${++n}`, service: "app", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 }));
  await waitFor("the old reload's check to run", () => existsSync(checking), 20_000);
  const fence = await ctl("ctlR", 1).fence();
  assert.equal(fence.epoch, "1.1");
  rmSync(holdCheck);
  const r = await old;
  assert.ok("err" in r, "the fenced controller's reload was sent after the Fence returned");
  assert.equal(r.err.code, status.FAILED_PRECONDITION, r.err.message);
  assert.match(r.err.message, /controller ctlR at epoch 0\.1 is fenced/);
  assert.equal(reloads(), before, "the fenced controller's reload ran");
  assert.deepEqual(agent.core.inProgress(), []);
});

test("an old-epoch push already reloading when the Fence comes: the Fence returns only after it ended", async () => {
  writeFileSync(holdReload, "");
  const before = reloads();
  let oldEnded = false;
  const old = settled(push(ctl("ctlB", 0), "old-b\n")).finally(() => (oldEnded = true));
  await waitFor("the old push's reload to run", () => reloads() === before + 1, 20_000);
  let returned = false;
  // What the host looks like the moment the Fence's answer arrives.
  const fence = settled(ctl("ctlB", 1).fence()).then((r) => ((returned = true), { r, inProgress: agent.core.inProgress(), live: readFileSync(conf, "utf8"), reloads: reloads() }));
  // Not a timing assertion: the Fence must still be waiting for a change that cannot end yet.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(returned, false, "the Fence returned while an older epoch's change was still reloading");
  assert.equal(oldEnded, false);
  rmSync(holdReload);
  const [o, f] = await Promise.all([old, fence]);
  assert.ok("ok" in f.r, `Fence: ${"err" in f.r ? f.r.err.message : ""}`);
  assert.deepEqual(f.inProgress, [], "the Fence answered while the older epoch's push was still in progress");
  assert.equal(f.live, "old-b\n");
  assert.ok("ok" in o, `the committed push completes: ${"err" in o ? o.err.message : ""}`);
  const [live, count] = [readFileSync(conf, "utf8"), reloads()];
  assert.deepEqual([live, count], [f.live, f.reloads], "the older epoch's push changed the host after the Fence returned");
  // After the Fence: the old controller is refused, and nothing of it lands any more.
  await assert.rejects(push(ctl("ctlB", 0), "old-b-again\n"), (err: AgentCallError) => err.code === status.FAILED_PRECONDITION);
  assert.equal(readFileSync(conf, "utf8"), live);
  assert.equal(reloads(), count);
});

test("a Fence whose deadline ends before an older epoch's committed change says so (UNAVAILABLE); a later Fence returns OK", async () => {
  writeFileSync(holdReload, "");
  const before = reloads();
  const old = settled(push(ctl("ctlC", 0), "old-c\n"));
  await waitFor("the old push's reload to run", () => reloads() === before + 1, 20_000);
  const short = await settled(ctl("ctlC", 1, 2_000).fence());
  assert.ok("err" in short, "the Fence returned OK while an older epoch's change was in progress");
  assert.equal(short.err.code, status.UNAVAILABLE, short.err.message);
  assert.match(short.err.message, /epoch 1\.1 of controller ctlC is recorded .*1 change of older epochs committed before it is still in progress: PushConfig by .*\(controller ctlC at epoch 0\.1\); call Fence again/);
  // Recorded all the same: the old controller can start nothing new.
  await assert.rejects(push(ctl("ctlC", 0), "old-c-again\n"), (err: AgentCallError) => err.code === status.FAILED_PRECONDITION);
  rmSync(holdReload);
  assert.ok("ok" in (await old));
  const again = await ctl("ctlC", 1, 10_000).fence();
  assert.equal(again.epoch, "1.1");
});

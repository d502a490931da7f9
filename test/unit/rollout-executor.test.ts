// The executor through the core, with an in-memory history and fake agents
// (in addition to the tests against real agents in test/controller): halt
// rules, canary bake, resume from recorded steps, rollback resume, a failing
// history write.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import type { ConfigRolloutRequest, ReloadRequest } from "../../controller/controller-api.js";
import { ControllerCore } from "../../controller/controller-core.js";
import { MemoryHistoryStore } from "../../controller/history/memory-history-store.js";
import { requestIdFor, type RolloutEvent } from "../../controller/rollout/rollout-executor.js";
import { FakeAgents } from "../helpers/fake-agents.js";
import { waitFor } from "../helpers/wait-for.js";
import { unitInventory } from "../helpers/unit-inventory.js";

const HOSTS = ["h1:7601", "h2:7601", "h3:7601", "h4:7601", "h5:7601", "h6:7601"];
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

const inventory = (reloadDeadlineMs = 20_000, groups: Record<string, string[]> = { web: HOSTS }) => unitInventory(groups, reloadDeadlineMs);

function setup(groups?: Record<string, string[]>) {
  const store = new MemoryHistoryStore();
  const agents = new FakeAgents(HOSTS);
  const core = new ControllerCore(inventory(20_000, groups), store, silentLogger, { agents: agents.client, bakeProbeEveryMs: 5, retryMs: { first: 10, max: 40 } });
  return { store, agents, core };
}

const reload = (policy: ReloadRequest["policy"], group = "web"): ReloadRequest => ({ group, policy, hosts: [], reason: "unit", caller: { user: "u", host: "h" }, peer: "test", allowRestart: false });
const push = (content: string, policy: ReloadRequest["policy"]): ConfigRolloutRequest => ({ ...reload(policy), files: [{ path: "/etc/web.conf", content: Buffer.from(content), template: false }], rollbackAll: false });

test("halt rules: a canary failure halts at once; otherwise failures beyond max_failures halt after their batch", async () => {
  const a = setup();
  a.agents.host("h1:7601").healthy = false;
  const canary = await a.core.startReload(reload({ canary: "1", batch: "2" }), () => undefined).done;
  assert.equal(canary.state, "failed");
  assert.match(canary.summary, /canary failed \(1 of 1; h1:7601: unhealthy — health probe failed\)/);
  assert.deepEqual(a.agents.reloadCounts(), [1, 0, 0, 0, 0, 0]);
  assert.equal(canary.hostsSkipped, 5);

  const b = setup();
  b.agents.host("h2:7601").healthy = false;
  b.agents.host("h4:7601").healthy = false;
  const r = await b.core.startReload(reload({ canary: "1", batch: "2", max_failures: "1" }), () => undefined).done;
  assert.equal(r.state, "failed");
  assert.match(r.summary, /2 failures exceed the allowed 1/);
  assert.deepEqual(b.agents.reloadCounts(), [1, 1, 1, 1, 1, 0], "batches 0-2 ran; batch 3 never started");
});

test("canary bake: a canary that goes unhealthy while baking halts before any other host", async () => {
  const { agents, core } = setup();
  const events: RolloutEvent[] = [];
  const r = await core.startReload(reload({ canary: "1", batch: "5", bake: "200ms" }), (e) => {
    events.push(e);
    if (e.kind === "bake") agents.host("h1:7601").healthy = false;
  }).done;
  assert.equal(r.state, "failed");
  assert.match(r.summary, /canary unhealthy while baking: h1:7601: http: 503/);
  assert.deepEqual(agents.reloadCounts(), [1, 0, 0, 0, 0, 0]);
});

test("resume from recorded steps: an aborted rollout resumes with the hosts not done; a step in doubt is asked again with its request id and replayed", async () => {
  const { store, agents, core } = setup();
  const started = core.startReload(reload({ canary: "1", batch: "2", pause: "5s" }), (e) => {
    if (e.kind === "pause") core.abort(started.rollout.id, "unit");
  });
  const aborted = await started.done;
  assert.equal(aborted.state, "aborted");
  assert.deepEqual(agents.reloadCounts(), [1, 0, 0, 0, 0, 0]);
  // Make h2 a step in doubt: the agent did it, the record says running.
  const id = aborted.id;
  await agents.client("h2:7601").reload({ requestId: requestIdFor(store.instanceId, id, "h2:7601"), service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
  store.markStepsRunning(id, ["h2:7601"], Date.now());
  const resumed = await core.resume(id, () => undefined).done;
  assert.equal(resumed.state, "succeeded", resumed.summary);
  assert.deepEqual(agents.reloadCounts(), [1, 1, 1, 1, 1, 1], "every host exactly once");
  assert.deepEqual(agents.host("h2:7601").calls.map((c) => c.replayed), [false, true], "h2 was asked again and replayed");
  assert.throws(() => core.resume(id, () => undefined), /cannot be resumed: it already ended succeeded/);
});

test("rollback resume: an interrupted restore resumes as that restore — no push, the same request id, the parent waits for it", async () => {
  const { store, agents, core: first } = setup();
  const bad = "bad config";
  agents.hosts.forEach((h) => h.badConfigs.add(sha(bad)));
  let release: (() => void) | undefined;
  const events: RolloutEvent[] = [];
  const started = first.startConfigRollout(push(bad, { canary: "1", batch: "5" }), (e) => {
    events.push(e);
    if (e.kind === "rollback_started") release = agents.hold("h1:7601");
  });
  await waitFor("the restore in flight", () => release);
  // The controller "dies" here: nothing more reaches its history (the agent still finishes the restore).
  store.writeFault = new Error("controller killed");
  release!();
  await first.shutdown();
  store.writeFault = undefined;
  // The restart: both entries were left running and become interrupted.
  store.interruptRunning(Date.now());
  const core = new ControllerCore(inventory(), store, silentLogger, { agents: agents.client });
  const parent = store.getRollout(started.rollout.id)!;
  const entry = store.linkedRollouts(parent.id)[0]!;
  assert.equal(entry.kind, "rollback");
  assert.deepEqual([parent.state, entry.state], ["interrupted", "interrupted"]);
  assert.equal(store.getSteps(entry.id)[0]!.targetSha256, "sha-old", "the version to restore was recorded before the agent was asked");
  assert.equal(JSON.parse(entry.policy).kind, "rollback", "the entry records its own settings");

  assert.throws(() => core.resume(parent.id, () => undefined), new RegExp(`its restore, rollout ${entry.id}, was interrupted: fleet resume ${entry.id} first`));
  const reloadsBefore = agents.host("h1:7601").reloads;
  const restored = await core.resume(entry.id, () => undefined).done;
  assert.equal(restored.state, "succeeded", restored.summary);
  assert.equal(agents.host("h1:7601").live, "sha-old");
  assert.equal(agents.host("h1:7601").reloads, reloadsBefore, "the restore's result was replayed: no extra reload");
  const calls = agents.host("h1:7601").calls;
  assert.deepEqual(calls.map((c) => [c.rpc, c.replayed]), [["PushConfig", false], ["RollbackConfig", false], ["RollbackConfig", true]]);
  assert.equal(calls[1]!.requestId, calls[2]!.requestId);

  // The parent now resumes from the record: its canary is settled as failed (it was restored), never pushed again.
  const final = await core.resume(parent.id, () => undefined).done;
  assert.equal(final.state, "failed");
  assert.equal(agents.host("h1:7601").calls.filter((c) => c.rpc === "PushConfig").length, 1);
  assert.deepEqual(agents.reloadCounts().slice(1), [0, 0, 0, 0, 0], "no other host touched");
  assert.match(store.getSteps(parent.id)[0]!.reason, new RegExp(`rollout ${entry.id} restored its previous file; not pushed again`));
});

test("a failing history write: the rollout stops acting, keeps the canary's result, ends interrupted once writes work; abort and resume work without a restart", async () => {
  const { store, agents, core } = setup();
  const release = agents.hold("h1:7601");
  const events: RolloutEvent[] = [];
  const started = core.startReload(reload({ canary: "1", batch: "5" }), (e) => events.push(e));
  await waitFor("the canary in flight", () => events.some((e) => e.kind === "host_started"));
  store.writeFault = new Error("database or disk is full");
  release();
  await waitFor("the executor to stop acting", () => events.some((e) => e.kind === "finished"));
  const finished = events.find((e) => e.kind === "finished")!;
  assert.equal(finished.outcome, "interrupted");
  assert.match(finished.message, /history could not be written \(database or disk is full\)/);
  assert.deepEqual(agents.reloadCounts(), [1, 0, 0, 0, 0, 0], "nothing after the canary");
  assert.match(core.abort(started.rollout.id, "unit").message, /already stopped acting: the history cannot be written/);
  assert.throws(() => core.resume(started.rollout.id, () => undefined), /stopped acting because the history cannot be written/);
  assert.throws(() => core.startReload(reload({}), () => undefined), /history database cannot be written \(database or disk is full\); nothing was started/);
  assert.equal(store.getRollout(started.rollout.id)!.state, "running", "nothing recorded yet");

  store.writeFault = undefined;
  const final = await started.done;
  assert.equal(final.state, "interrupted");
  const recorded = store.getRollout(final.id)!;
  assert.equal(recorded.state, "interrupted");
  assert.deepEqual(store.getSteps(final.id).map((s) => [s.status, s.outcome]).slice(0, 2), [["done", "reloaded"], ["pending", ""]], "the canary's result was kept and recorded");
  const resumed = await core.resume(final.id, () => undefined).done;
  assert.equal(resumed.state, "succeeded", resumed.summary);
  assert.deepEqual(agents.reloadCounts(), [1, 1, 1, 1, 1, 1]);
});

test("host exclusion: a second rollout touching a host of a running one is refused naming it; deadlines follow the current inventory", async () => {
  const { agents, core } = setup({ a: HOSTS.slice(0, 3), b: HOSTS.slice(2, 6) });
  const release = agents.hold("h1:7601");
  const first = core.startReload(reload({ canary: "1" }, "a"), () => undefined);
  assert.throws(() => core.startReload(reload({}, "b"), () => undefined), new RegExp(`host h3:7601 \\(service web\\) is busy: rollout ${first.rollout.id} \\(group a, started by u@h`));
  core.replaceInventory(inventory(7777, { a: HOSTS.slice(0, 3), b: HOSTS.slice(2, 6) }));
  release();
  assert.equal((await first.done).state, "succeeded");
  assert.equal(agents.host("h2:7601").calls[0]!.deadlineMs, 7777, "a SIGHUP's reload deadline applies to the running rollout");
  assert.equal((await core.startReload(reload({}, "b"), () => undefined).done).state, "succeeded", "free again once the first ended");
});

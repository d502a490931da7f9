import assert from "node:assert/strict";
import { test } from "node:test";
import type { RolloutRecord, StepRecord } from "../../controller/history/history-store.js";
import { planResume } from "../../controller/rollout/resume-plan.js";

const rollout = (r: Partial<RolloutRecord>): RolloutRecord => ({
  id: 1, kind: "reload", parentId: null, configPath: "", configSha256: "", schedule: "", group: "g", service: "web", state: "interrupted", reason: "", requestedBy: "u@h", requestedFrom: "x",
  policy: JSON.stringify({ kind: "reload", service: "web", maxFailures: 0, bakeMs: 0, pauseMs: 0, allowRestart: false, policyText: "p" }), allowRestart: false, createdAt: 0, finishedAt: 0, summary: "", hostsTotal: 0, hostsOk: 0, hostsFailed: 0, hostsSkipped: 0, hostsUnverified: 0, preflight: "", ...r,
});
const step = (host: string, s: Partial<StepRecord> = {}): StepRecord => ({
  rolloutId: 1, host, batch: 0, canary: false, position: 0, status: "pending", outcome: "", ok: false, reason: "", evidence: "", probesSent: 0, probesFailed: 0, probesRefused: 0, startedAt: null, finishedAt: null, previousSha256: "", newSha256: "", targetSha256: "", hostName: "", files: [], diff: "", ...s,
});
const config = { kind: "config" as const, configPath: "/etc/a", configSha256: "new", policy: JSON.stringify({ kind: "config", service: "web", configPath: "/etc/a", configSha256: "new", maxFailures: 0, bakeMs: 0, pauseMs: 0, allowRestart: false, policyText: "p" }) };

test("resume refuses what cannot be resumed, saying why", () => {
  const why = (r: Partial<RolloutRecord>, steps = [step("a")], more: object = {}) => {
    const p = planResume({ rollout: rollout(r), steps, linked: [], configKept: true, ...more });
    return p.ok ? "ok" : p.why;
  };
  assert.match(why({ state: "running" }), /rollout 1 cannot be resumed: it is running \(fleet abort 1 stops it\)/);
  assert.match(why({ state: "succeeded" }), /already ended succeeded; start a new rollout instead/);
  assert.match(why({ policy: "{" }), /recorded settings are not a reload rollout's/);
  assert.match(why({ ...config }, [step("a")], { configKept: false }), /the config it pushes \(sha256 new\) is no longer in the history/);
  assert.match(why({ kind: "rollback", parentId: 9, configPath: "/etc/a", policy: config.policy }, [step("a", { status: "running" })]), /no recorded version to restore/);
  assert.equal(why({ state: "aborted" }), "ok");
});

test("a rollback entry resumes as a restore whatever its stored policy says; a config rollout waits for its restore and settles restored hosts", () => {
  const rb = planResume({ rollout: rollout({ id: 2, kind: "rollback", parentId: 1, configPath: "/etc/a", policy: config.policy }), steps: [step("a", { status: "running", targetSha256: "old" })], linked: [], configKept: true });
  assert.ok(rb.ok);
  assert.equal(rb.settings.kind, "rollback");
  assert.equal(rb.settings.configSha256, undefined, "nothing to push");
  assert.deepEqual(rb.inDoubt, ["a"]);

  const linked = (state: RolloutRecord["state"]) => [{ rollout: rollout({ id: 2, kind: "rollback", parentId: 1, state }), steps: [step("a", { status: state === "succeeded" ? "done" : "running", ok: true })] }];
  const waiting = planResume({ rollout: rollout(config), steps: [step("a", { status: "running" }), step("b")], linked: linked("interrupted"), configKept: true });
  assert.equal(waiting.ok ? "" : waiting.why, "rollout 1 cannot be resumed: its restore, rollout 2, was interrupted: fleet resume 2 first (it puts the previous files back), then fleet resume 1");
  const after = planResume({ rollout: rollout(config), steps: [step("a", { status: "running" }), step("b")], linked: linked("succeeded"), configKept: true });
  assert.ok(after.ok);
  assert.deepEqual(after.settled.map((s) => [s.host, s.result.ok]), [["a", false]]);
});

test("a rollback entry of a file set resumes as a restore of the recorded set (a removal included), never a push", () => {
  const entry = rollout({ id: 2, kind: "rollback", parentId: 1, configPath: "/etc/a, /etc/b", policy: JSON.stringify({ kind: "rollback" }) });
  const steps = [step("h1", { rolloutId: 2, status: "running", files: [{ path: "/etc/a", target: "aaa" }, { path: "/etc/b", target: "" }] })];
  const p = planResume({ rollout: entry, steps, linked: [], configKept: true });
  assert.ok(p.ok);
  assert.equal(p.settings.kind, "rollback");
  assert.deepEqual(p.inDoubt, ["h1"]);
  const none = planResume({ rollout: entry, steps: [step("h1", { rolloutId: 2 })], linked: [], configKept: true });
  assert.equal(none.ok, false, "a restore step with neither a version nor a set cannot be resumed");
});

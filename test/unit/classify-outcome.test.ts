import assert from "node:assert/strict";
import { test } from "node:test";
import { classifyOutcome, type ReloadFacts } from "../../agent/verify/classify-outcome.js";
import { parseStat } from "../../agent/process/proc-fs.js";

const base: ReloadFacts = {
  mainBefore: { pid: 10, startTime: 500 },
  mainAfter: { pid: 10, startTime: 500 },
  generation: { source: "workers", observed: true, timeoutMs: 5000 },
  probes: { declared: true, sent: 10, failed: 0, refused: 0, firstFailure: "" },
  healthyForMs: 500,
  roundsAfterGeneration: 3,
  restartAllowed: false,
};
const outcome = (f: Partial<ReloadFacts>) => classifyOutcome({ ...base, ...f });

test("classification follows the design's order", () => {
  assert.equal(outcome({}).outcome, "reloaded");
  assert.equal(outcome({ stoppedBefore: { outcome: "refused", reason: "x" } }).outcome, "refused");
  assert.equal(outcome({ triggerFailure: { outcome: "failed", reason: "x" } }).outcome, "failed");
  assert.equal(outcome({ mainAfter: "gone" }).outcome, "failed");
  assert.equal(outcome({ mainAfter: { pid: 11, startTime: 900 } }).outcome, "restarted");
  assert.equal(outcome({ mainAfter: { pid: 10, startTime: 900 } }).outcome, "restarted", "same pid, new start time: PID reuse is a restart");
  assert.equal(outcome({ mainBefore: { pid: 10, startTime: 500, invocationId: "a" }, mainAfter: { pid: 10, startTime: 500, invocationId: "b" } }).outcome, "restarted");
  assert.equal(outcome({ rejectMarker: "[emerg] bad" }).outcome, "rejected");
  assert.equal(outcome({ generation: { source: "workers", observed: false, timeoutMs: 5000 } }).outcome, "rejected");
  assert.equal(outcome({ probes: { ...base.probes, failed: 1, refused: 1 } }).outcome, "unhealthy");
  assert.equal(outcome({ probes: { ...base.probes, failed: 2 } }).outcome, "unhealthy");
  assert.equal(outcome({ roundsAfterGeneration: 0 }).outcome, "unhealthy");
});

test("a restart is a failure unless allowed; restarted outranks rejected and unhealthy", () => {
  const restarted = { mainAfter: { pid: 11, startTime: 900 }, rejectMarker: "[emerg]", probes: { ...base.probes, failed: 3 } };
  assert.deepEqual([outcome(restarted).outcome, outcome(restarted).ok], ["restarted", false]);
  assert.deepEqual([outcome({ ...restarted, restartAllowed: true }).outcome, outcome({ ...restarted, restartAllowed: true }).ok], ["restarted", true]);
});

test("without generation evidence a reload is reloaded but says the evidence is weak", () => {
  const c = outcome({ generation: { source: "none", observed: false, timeoutMs: 5000 } });
  assert.equal(c.outcome, "reloaded");
  assert.match(c.reason, /weak evidence/);
});

test("/proc/PID/stat is split after the last ')' so odd command names parse", () => {
  const line = "1234 (we ird) (name)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 50 18446744073709551615";
  assert.deepEqual(parseStat(line), { comm: "we ird) (name)", state: "S", ppid: 1, startTime: 987654 });
});

// The pure classifier over every combination of facts: an outcome never claims
// more than its evidence shows.
import assert from "node:assert/strict";
import { test } from "node:test";
import { classifyOutcome, type ReloadFacts } from "../../agent/verify/classify-outcome.js";
import { parseStat } from "../../agent/process/proc-fs.js";

const PROBES = {
  undeclared: { declared: false, sent: 0, failed: 0, refused: 0, firstFailure: "" },
  green: { declared: true, sent: 10, failed: 0, refused: 0, firstFailure: "" },
  failing: { declared: true, sent: 10, failed: 2, refused: 0, firstFailure: "status 503" },
  refused: { declared: true, sent: 10, failed: 1, refused: 1, firstFailure: "ECONNREFUSED" },
  noRoundAfter: { declared: true, sent: 2, failed: 0, refused: 0, firstFailure: "" },
} as const;
const GENERATION = {
  none: { source: "none", observed: false, timeoutMs: 300 },
  observed: { source: "workers", observed: true, timeoutMs: 300 },
  partial: { source: "workers", observed: false, timeoutMs: 300, awaited: "the old workers to stop listening", progress: "new workers 12 are up; old workers 10 still listen" },
  nothing: { source: "http", observed: false, timeoutMs: 300, awaited: "the value of http://x to change", progress: "" },
} as const;
const MAIN = {
  unchanged: { pid: 10, startTime: 500 },
  changed: { pid: 11, startTime: 900 },
  gone: "gone",
  unknown: undefined,
} as const;

type Case = {
  stopped: boolean;
  trigger: boolean;
  main: keyof typeof MAIN;
  restartAllowed: boolean;
  marker: boolean;
  generation: keyof typeof GENERATION;
  aborted: boolean;
  probes: keyof typeof PROBES;
};

function facts(c: Case): ReloadFacts {
  return {
    stoppedBefore: c.stopped ? { outcome: "refused", reason: "pid 1 is init; nothing was signalled" } : undefined,
    triggerFailure: c.trigger ? { outcome: "failed", reason: "systemctl reload x failed" } : undefined,
    mainBefore: c.main === "unknown" ? undefined : { pid: 10, startTime: 500 },
    mainAfter: MAIN[c.main],
    generation: { ...GENERATION[c.generation] },
    rejectMarker: c.marker ? "[emerg] unknown directive" : undefined,
    aborted: c.aborted,
    probes: { ...PROBES[c.probes] },
    healthyForMs: 500,
    roundsAfterGeneration: c.probes === "noRoundAfter" ? 0 : 3,
    restartAllowed: c.restartAllowed,
  };
}

/** The precedence, as a table: the first row whose condition holds decides. */
const RULES: { when: (c: Case) => boolean; outcome: string; ok: (c: Case) => boolean; reason: RegExp }[] = [
  { when: (c) => c.stopped, outcome: "refused", ok: () => false, reason: /pid 1 is init/ },
  { when: (c) => c.trigger, outcome: "failed", ok: () => false, reason: /systemctl reload x failed/ },
  { when: (c) => c.main === "gone", outcome: "failed", ok: () => false, reason: /died after the reload/ },
  { when: (c) => c.main === "changed", outcome: "restarted", ok: (c) => c.restartAllowed, reason: /main PID changed 10 -> 11/ },
  { when: (c) => c.marker, outcome: "rejected", ok: () => false, reason: /its log says: \[emerg\] unknown directive/ },
  { when: (c) => c.aborted && (c.generation === "partial" || c.generation === "nothing"), outcome: "failed", ok: () => false, reason: /^aborted while waiting/ },
  { when: (c) => c.generation === "partial", outcome: "failed", ok: () => false, reason: /^timed out after 300ms waiting for the old workers to stop listening: new workers 12 are up; old workers 10 still listen$/ },
  { when: (c) => c.generation === "nothing", outcome: "rejected", ok: () => false, reason: /no new generation \(http\) within 300ms: the old config is still serving/ },
  { when: (c) => c.probes === "refused", outcome: "unhealthy", ok: () => false, reason: /1 of 10 probes was refused/ },
  { when: (c) => c.probes === "failing", outcome: "unhealthy", ok: () => false, reason: /2 of 10 probes failed/ },
  { when: (c) => c.probes === "noRoundAfter", outcome: "unhealthy", ok: () => false, reason: /no probe round completed/ },
  { when: (c) => c.generation === "none", outcome: "unverified", ok: () => false, reason: /nothing shows the service loaded the new config/ },
  { when: () => true, outcome: "reloaded", ok: () => true, reason: /new generation \(workers\) observed/ },
];

function* every(): Generator<Case> {
  for (const stopped of [false, true])
    for (const trigger of [false, true])
      for (const main of Object.keys(MAIN) as (keyof typeof MAIN)[])
        for (const restartAllowed of [false, true])
          for (const marker of [false, true])
            for (const generation of Object.keys(GENERATION) as (keyof typeof GENERATION)[])
              for (const aborted of [false, true])
                for (const probes of Object.keys(PROBES) as (keyof typeof PROBES)[]) yield { stopped, trigger, main, restartAllowed, marker, generation, aborted, probes };
}

test("every combination of facts is classified by the precedence table", () => {
  let n = 0;
  for (const c of every()) {
    const rule = RULES.find((r) => r.when(c))!;
    const got = classifyOutcome(facts(c));
    const label = JSON.stringify(c);
    assert.equal(got.outcome, rule.outcome, label);
    assert.equal(got.ok, rule.ok(c), label);
    assert.match(got.reason, rule.reason, label);
    n++;
  }
  assert.equal(n, 2 * 2 * 4 * 2 * 2 * 4 * 2 * 5);
});

test("outcomes agree with their evidence, whatever the facts", () => {
  for (const c of every()) {
    const got = classifyOutcome(facts(c));
    const label = JSON.stringify(c);
    // Success is only a proven reload, or a restart both sides allowed.
    if (got.ok) assert.ok(got.outcome === "reloaded" || (got.outcome === "restarted" && c.restartAllowed), label);
    // reloaded always rests on an observed generation.
    if (got.outcome === "reloaded") assert.equal(c.generation, "observed", label);
    // rejected only when the old config demonstrably kept serving.
    if (got.outcome === "rejected") assert.ok(c.marker || c.generation === "nothing", label);
    // A generation that started is never called rejected.
    if (c.generation === "partial" && !c.marker) assert.notEqual(got.outcome, "rejected", label);
    if (/timed out/.test(got.reason)) assert.equal(got.outcome, "failed", label);
    if (got.outcome === "unverified") assert.equal(got.ok, false, label);
  }
});

test("silence from evidence that could not be read is failed, not rejected", () => {
  const base = facts({ stopped: false, trigger: false, main: "unchanged", restartAllowed: false, marker: false, generation: "nothing", aborted: false, probes: "green" });
  const c = classifyOutcome({ ...base, generation: { ...base.generation, readError: "journalctl failed (exit 1)" } });
  assert.deepEqual([c.outcome, c.ok], ["failed", false]);
  assert.match(c.reason, /could not read the generation evidence \(http\): journalctl failed/);
});

test("same pid with a new start time, or a new InvocationID, is a restart", () => {
  const base = facts({ stopped: false, trigger: false, main: "unchanged", restartAllowed: false, marker: false, generation: "observed", aborted: false, probes: "green" });
  assert.equal(classifyOutcome({ ...base, mainAfter: { pid: 10, startTime: 900 } }).outcome, "restarted", "PID reuse is a restart");
  assert.equal(classifyOutcome({ ...base, mainBefore: { pid: 10, startTime: 500, invocationId: "a" }, mainAfter: { pid: 10, startTime: 500, invocationId: "b" } }).outcome, "restarted");
});

test("/proc/PID/stat is split after the last ')' so odd command names parse", () => {
  const line = "1234 (we ird) (name)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 50 18446744073709551615";
  assert.deepEqual(parseStat(line), { comm: "we ird) (name)", state: "S", ppid: 1, flags: 4194560, startTime: 987654 });
});

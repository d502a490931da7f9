// A step's recorded files through finishSteps, on both stores: a result that reports no files
// (a plain reload, or a push that failed before installing) keeps the targets recorded with the
// step; a result that reports files adds what each was before and after.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { HistoryStore, StepResult } from "../../controller/history/history-store.js";
import { MemoryHistoryStore } from "../../controller/history/memory-history-store.js";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";

const stores: [string, () => HistoryStore][] = [
  ["sqlite", () => new SqliteHistoryStore(":memory:")],
  ["memory", () => new MemoryHistoryStore()],
];

const result = (over: Partial<StepResult> = {}): StepResult => ({ outcome: "reloaded", ok: true, reason: "done", evidence: "{}", probesSent: 1, probesFailed: 0, probesRefused: 0, ...over });

for (const [name, make] of stores) {
  test(`${name}: finishing a step keeps its recorded files unless the result reports some`, () => {
    const store = make();
    const files = [{ path: "/etc/a.conf", target: "aaa" }, { path: "/etc/b.conf", target: "bbb" }];
    const r = store.createRollout({ kind: "config", group: "web", service: "web", reason: "", requestedBy: "u", requestedFrom: "t", policy: "{}", allowRestart: false, steps: [{ host: "h1:1", batch: 0, canary: false, files }, { host: "h2:1", batch: 0, canary: false, files }, { host: "h3:1", batch: 0, canary: false }] }, 1);
    store.finishSteps(r.id, [
      { host: "h1:1", result: result({ outcome: "failed", ok: false, reason: "unreachable" }) },
      { host: "h2:1", result: result({ files: [{ path: "/etc/a.conf", previous: "old-a", new: "aaa" }] }) },
      { host: "h3:1", result: result() },
    ], 5);
    const [h1, h2, h3] = store.getSteps(r.id);
    assert.deepEqual([h1!.status, h1!.outcome, h1!.ok, h1!.reason, h1!.finishedAt], ["done", "failed", false, "unreachable", 5]);
    assert.deepEqual(h1!.files, files, "no files reported: the recorded targets stay");
    assert.deepEqual(h2!.files, [{ path: "/etc/a.conf", target: "aaa", previous: "old-a", new: "aaa" }, { path: "/etc/b.conf", target: "bbb" }]);
    assert.deepEqual([h3!.status, h3!.outcome, h3!.files], ["done", "reloaded", []]);
    store.close();
  });
}

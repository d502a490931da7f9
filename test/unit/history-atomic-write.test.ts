// HistoryStore.transaction on both stores: a write made of several calls that
// throws half-way leaves nothing behind, so the journal's retry of the whole
// write succeeds.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { HistoryStore } from "../../controller/history/history-store.js";
import { MemoryHistoryStore } from "../../controller/history/memory-history-store.js";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";

const stores: [string, () => HistoryStore][] = [
  ["sqlite", () => new SqliteHistoryStore(":memory:")],
  ["memory", () => new MemoryHistoryStore()],
];

for (const [name, make] of stores) {
  test(`${name}: a write that fails after its first call commits nothing, and its retry succeeds`, () => {
    const store = make();
    const r = store.createRollout({ kind: "reload", group: "web", service: "web", reason: "", requestedBy: "u", requestedFrom: "t", policy: "{}", allowRestart: false, steps: [{ host: "h1:1", batch: 0, canary: false }] }, 1);
    let failOnce = true;
    const restoreStep = () => {
      store.addSteps(r.id, [{ host: "h2:1", batch: 1, canary: false }]);
      if (failOnce) {
        failOnce = false;
        throw new Error("database or disk is full");
      }
      store.markStepsRunning(r.id, ["h2:1"], 2);
      store.addEvent(r.id, "host_started", "h2:1", "restoring", 2);
    };
    assert.throws(() => store.transaction(restoreStep), /disk is full/);
    assert.deepEqual(store.getSteps(r.id).map((s) => s.host), ["h1:1"], "the first call was rolled back");
    assert.deepEqual(store.getEvents(r.id), []);
    store.transaction(restoreStep);
    assert.deepEqual(store.getSteps(r.id).map((s) => [s.host, s.status]), [["h1:1", "pending"], ["h2:1", "running"]]);
    assert.equal(store.getEvents(r.id).length, 1);
    store.close();
  });
}

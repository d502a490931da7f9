// The history journal's batching over a real SQLite file and over the
// in-memory store: a batch's writes held and committed in one transaction,
// write-ahead points, progress flushes, and a failed commit that is rolled
// back whole, reported once and retried whole.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import type { HistoryStore } from "../../controller/history/history-store.js";
import { MemoryHistoryStore } from "../../controller/history/memory-history-store.js";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";
import { HistoryJournal } from "../../controller/rollout/history-journal.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

function stores(): { name: string; store: HistoryStore; done: () => void }[] {
  const scratch = scratchDir();
  return [
    { name: "sqlite", store: new SqliteHistoryStore(path.join(scratch.dir, "history.db")), done: () => scratch.remove() },
    { name: "memory", store: new MemoryHistoryStore(), done: () => undefined },
  ];
}

let groups = 0;
function rollout(store: HistoryStore) {
  return store.createRollout({ kind: "reload", group: `g${++groups}`, service: "s", reason: "", requestedBy: "u", requestedFrom: "h", policy: "{}", allowRestart: false, steps: [{ host: `h${groups}`, batch: 0, canary: false }] }, 1);
}

function journal(store: HistoryStore, extra: { groupFlushMs?: number } = {}) {
  const faults: Error[] = [];
  let transactions = 0;
  const j = new HistoryJournal({
    logger: silentLogger,
    onFault: (e) => faults.push(e),
    firstRetryMs: 5,
    maxRetryMs: 20,
    transaction: (work) => {
      transactions++;
      store.transaction(work);
    },
    ...extra,
  });
  return { j, faults, transactions: () => transactions };
}

for (const { name, store, done } of stores()) {
  test(`${name}: a group holds its writes until a write-ahead point or its end, each commit one transaction`, async () => {
    const r = rollout(store);
    const { j, transactions } = journal(store);
    await j.group(async () => {
      for (let i = 0; i < 3; i++) j.write(`event ${i}`, () => store.addEvent(r.id, "host_started", `h${i}`, "started", 2));
      j.write("steps running", () => store.markStepsRunning(r.id, [store.getSteps(r.id)[0]!.host], 2));
      assert.equal(store.getEvents(r.id).length, 0, "held while the group is open");
      j.commitHeld();
      assert.equal(store.getEvents(r.id).length, 3, "written at the write-ahead point");
      assert.equal(store.getSteps(r.id)[0]!.status, "running");
      assert.equal(transactions(), 1);
      await new Promise((res) => setTimeout(res, 5));
      for (let i = 0; i < 3; i++) j.write(`event ${i}`, () => store.addEvent(r.id, "host_finished", `h${i}`, "done", 3));
      assert.equal(store.getEvents(r.id).length, 3);
    });
    assert.equal(store.getEvents(r.id).length, 6, "written when the group ended");
    assert.equal(transactions(), 2);
    j.write("outside", () => store.addEvent(r.id, "halted", "", "x", 4));
    assert.equal(store.getEvents(r.id).length, 7, "outside a group a write is made at once");
  });

  test(`${name}: a long group commits its progress every groupFlushMs`, async () => {
    const r = rollout(store);
    const { j } = journal(store, { groupFlushMs: 20 });
    await j.group(async () => {
      j.write("event", () => store.addEvent(r.id, "host_finished", "h1", "done", 2));
      await waitFor("the progress flush", () => store.getEvents(r.id).length === 1, 5000, 5);
    });
  });

  test(`${name}: a failed group commit is rolled back whole, reported once, retried whole`, async () => {
    const r = rollout(store);
    const { j, faults } = journal(store);
    let failing = true;
    await j.group(async () => {
      j.write("event 1", () => store.addEvent(r.id, "host_finished", "h1", "one", 2));
      j.write("result", () => store.finishSteps(r.id, [{ host: store.getSteps(r.id)[0]!.host, result: { outcome: "reloaded", ok: true, reason: "ok", evidence: "{}", probesSent: 1, probesFailed: 0, probesRefused: 0 } }], 2));
      j.write("event 2", () => {
        if (failing) throw new Error("database or disk is full");
        store.addEvent(r.id, "host_finished", "h1", "two", 2);
      });
    });
    assert.deepEqual(faults.map((e) => e.message), ["database or disk is full"]);
    assert.equal(store.getEvents(r.id).length, 0, "nothing of the failed commit stays");
    assert.equal(store.getSteps(r.id)[0]!.status, "pending");
    j.write("later", () => store.addEvent(r.id, "halted", "", "three", 3));
    failing = false;
    await j.drained();
    assert.deepEqual(store.getEvents(r.id).map((e) => e.message), ["one", "two", "three"], "every write once, in order");
    assert.equal(store.getSteps(r.id)[0]!.status, "done");
    assert.equal(faults.length, 1);
    done();
  });
}

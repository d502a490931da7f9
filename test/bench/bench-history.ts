// History at scale: 1,000,000 step rows, then `fleet history` and `fleet show`
// latencies through the store (the same queries the controller serves).
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";

export async function benchHistory(stepRows = 1_000_000, hostsPerRollout = 100) {
  const file = path.join(os.tmpdir(), `fleet-bench-history-${process.pid}.db`);
  rmSync(file, { force: true });
  const store = new SqliteHistoryStore(file);
  const rollouts = Math.ceil(stepRows / hostsPerRollout);
  const t0 = performance.now();
  const result = { outcome: "reloaded" as const, ok: true, reason: "ok", evidence: "{}", probesSent: 5, probesFailed: 0, probesRefused: 0 };
  for (let r = 0; r < rollouts; r++) {
    const hosts = Array.from({ length: hostsPerRollout }, (_, i) => ({ host: `10.${(i >> 8) & 255}.${i & 255}.1:7601`, batch: Math.floor(i / 10), canary: i === 0 }));
    const rec = store.createRollout({ kind: "reload", group: `g${r % 50}`, service: "nginx", reason: "bench", requestedBy: "bench@bench", requestedFrom: "bench", policy: "{}", allowRestart: false, steps: hosts }, Date.now());
    store.finishSteps(rec.id, hosts.map((h) => ({ host: h.host, result })), Date.now());
    store.finishRollout(rec.id, "succeeded", "bench", Date.now());
  }
  const fillMs = performance.now() - t0;
  const time = (fn: () => unknown, n = 50) => {
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      fn();
      samples.push(performance.now() - s);
    }
    samples.sort((a, b) => a - b);
    return { medianMs: samples[Math.floor(n / 2)]!, p95Ms: samples[Math.floor(n * 0.95)]! };
  };
  const history = time(() => store.listRollouts({ limit: 20 }));
  const historyGroup = time(() => store.listRollouts({ group: "g7", limit: 20 }));
  const show = time(() => {
    const id = 1 + Math.floor(Math.random() * rollouts);
    store.getRollout(id);
    store.getSteps(id);
    store.getEvents(id);
  });
  store.close();
  rmSync(file, { force: true });
  rmSync(file + "-wal", { force: true });
  rmSync(file + "-shm", { force: true });
  return { stepRows: rollouts * hostsPerRollout, rollouts, fillSeconds: +(fillMs / 1000).toFixed(1), history, historyGroup, show };
}

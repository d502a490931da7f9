// Fleet scale: 1,000 agents (in one farm process) reloaded in batches of 100 by
// a controller in this process; its CPU per host-step, peak memory and history
// write time. Also 100 and 10,000 hosts planned and recorded without agents.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { HistoryStore } from "../../controller/history/history-store.js";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";
import { planRollout } from "../../controller/rollout/plan-rollout.js";
import { applyPolicyText, DEFAULT_POLICY } from "../../controller/rollout/rollout-policy.js";
import { TSX_LOADER } from "../helpers/web-service.js";
import { benchController, rollingReload } from "./bench-support.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Wraps a store so the time spent in its writes is measured. */
function timedStore(store: HistoryStore): { store: HistoryStore; writeMs: () => number } {
  let ms = 0;
  const writes = new Set(["createRollout", "markStepsRunning", "finishSteps", "skipPendingSteps", "finishRollout", "addEvent", "addSteps"]);
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || !writes.has(String(prop))) return typeof v === "function" ? v.bind(target) : v;
      return (...args: unknown[]) => {
        const s = performance.now();
        try {
          return v.apply(target, args);
        } finally {
          ms += performance.now() - s;
        }
      };
    },
  });
  return { store: proxy, writeMs: () => ms };
}

export async function benchScale(n = 1000, batch = 100) {
  const farm = spawn(process.execPath, ["--import", TSX_LOADER, path.join(here, "agent-farm.ts"), String(n)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const addresses = await new Promise<string[]>((resolve, reject) => {
    farm.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!).addresses);
    });
    farm.on("exit", (code) => reject(new Error(`agent farm exited ${code}`)));
  });
  const db = path.join(os.tmpdir(), `fleet-bench-scale-${process.pid}.db`);
  rmSync(db, { force: true });
  const timed = timedStore(new SqliteHistoryStore(db));
  const core = benchController("farm", "svc", addresses, db, timed.store);
  try {
    // Warm-up: connect every channel once, so the run measures steady-state work.
    await core.groupStatus("farm");
    /** One full rolling reload of every agent, measured. The first run includes JIT warm-up. */
    const measure = async () => {
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
      const cpu0 = process.cpuUsage();
      const w0 = timed.writeMs();
      const t0 = performance.now();
      const final = await rollingReload(core, "farm", batch, true);
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      clearInterval(sampler);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      return {
        hosts: n,
        batch,
        state: final.state,
        ok: final.hostsOk,
        wallSeconds: +(wallMs / 1000).toFixed(2),
        controllerCpuMs: Math.round(cpuMs),
        controllerCpuMsPerHostStep: +(cpuMs / n).toFixed(3),
        controllerPeakRssMb: Math.round(peakRss / 1048576),
        historyWriteMs: Math.round(timed.writeMs() - w0),
        historyWriteMsPerHost: +((timed.writeMs() - w0) / n).toFixed(3),
      };
    };
    const cold = await measure();
    const result = { ...(await measure()), cold };
    return { reload: result, planAndRecord: [100, 1000, 10_000].map((k) => planAndRecord(k)) };
  } finally {
    await core.shutdown();
    farm.kill("SIGTERM");
    rmSync(db, { force: true });
  }
}

/** Planning and recording a rollout of k hosts (every step run and finished), without agents. */
function planAndRecord(k: number) {
  const db = path.join(os.tmpdir(), `fleet-bench-plan-${process.pid}-${k}.db`);
  rmSync(db, { force: true });
  const store = new SqliteHistoryStore(db);
  const hosts = Array.from({ length: k }, (_, i) => `h${i}:7601`);
  const t0 = performance.now();
  const plan = planRollout(hosts, [], applyPolicyText(DEFAULT_POLICY, { canary: "1", batch: "10%" }, (f) => f).policy);
  const planMs = performance.now() - t0;
  const r = store.createRollout({ kind: "reload", group: "g", service: "s", reason: "", requestedBy: "b", requestedFrom: "b", policy: "{}", allowRestart: false, steps: plan.batches.flatMap((b) => b.hosts.map((host) => ({ host, batch: b.index, canary: b.canary }))) }, Date.now());
  const result = { outcome: "reloaded" as const, ok: true, reason: "", evidence: "{}", probesSent: 1, probesFailed: 0, probesRefused: 0 };
  for (const b of plan.batches) {
    store.markStepsRunning(r.id, b.hosts, Date.now());
    for (const host of b.hosts) store.finishSteps(r.id, [{ host, result }], Date.now());
  }
  store.finishRollout(r.id, "succeeded", "", Date.now());
  const totalMs = performance.now() - t0;
  store.close();
  rmSync(db, { force: true });
  return { hosts: k, batches: plan.batches.length, planMs: +planMs.toFixed(2), recordMs: Math.round(totalMs - planMs), recordMsPerHost: +((totalMs - planMs) / k).toFixed(3) };
}

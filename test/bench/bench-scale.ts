// Fleet scale: 10,000 agents (in several farm processes, each a few thousand
// real agent servers) reloaded in batches of 500 by a controller in this
// process; its CPU per host-step, peak memory, and the history's write time
// and transactions per batch. Also 100 to 10,000 hosts planned and recorded
// without agents.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { HistoryStore } from "../../controller/history/history-store.js";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";
import { planRollout } from "../../controller/rollout/plan-rollout.js";
import { applyPolicyText, DEFAULT_POLICY } from "../../controller/rollout/rollout-policy.js";
import { TSX_LOADER } from "../helpers/web-service.js";
import { benchController, rollingReload } from "./bench-support.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** Agent servers per farm process: each holds two descriptors per agent (listener, connection). */
const PER_FARM = 2500;

const WRITES = new Set(["transaction", "createRollout", "markStepsRunning", "finishSteps", "skipPendingSteps", "finishRollout", "addEvent", "addSteps", "interruptRollout"]);

/** Wraps a store so the time spent in its writes is measured: a transaction counts once, with the writes made inside it. */
function timedStore(store: HistoryStore): { store: HistoryStore; writeMs: () => number; commits: () => number } {
  let ms = 0;
  let commits = 0;
  let depth = 0;
  // Wrappers made once per method: the measurement should not add its own allocations per write.
  const wrapped = new Map<PropertyKey, unknown>();
  const wrap = (v: (...args: unknown[]) => unknown, prop: PropertyKey) => {
    if (!WRITES.has(String(prop))) return v.bind(store);
    return (...args: unknown[]) => {
      if (depth > 0) return v.apply(store, args);
      depth++;
      const s = performance.now();
      try {
        return v.apply(store, args);
      } finally {
        depth--;
        ms += performance.now() - s;
        commits++;
      }
    };
  };
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      let w = wrapped.get(prop);
      if (!w) wrapped.set(prop, (w = wrap(v, prop)));
      return w;
    },
  });
  return { store: proxy, writeMs: () => ms, commits: () => commits };
}

/**
 * This process holds one connection per agent and each farm two descriptors per agent: raises the
 * soft limit on open files to the hard one (prlimit, util-linux) when it is below what `n` needs,
 * and says so when even the hard limit is too low.
 */
function ensureOpenFiles(n: number): void {
  const need = Math.max(n, 2 * PER_FARM) + 1024;
  const limits = () => {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"))!;
    const num = (x: string) => (x === "unlimited" ? Infinity : Number(x));
    return { soft: num(m[1]!), hard: num(m[2]!) };
  };
  const { soft, hard } = limits();
  if (soft >= need) return;
  if (hard < need) throw new Error(`the scale benchmark with ${n} agents needs ${need} open files; the hard limit is ${hard} (raise it, e.g. ulimit -Hn ${need} as root)`);
  const to = hard === Infinity ? need : hard;
  execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${to}:${hard === Infinity ? "unlimited" : hard}`], { timeout: 10_000 });
  if (limits().soft < need) throw new Error(`could not raise the open-files limit to ${need}`);
}

/** Starts the farm processes; resolves with every agent's address. */
async function startFarms(n: number, farms: ChildProcess[]): Promise<string[]> {
  const sizes = Array.from({ length: Math.ceil(n / PER_FARM) }, (_, i) => Math.min(PER_FARM, n - i * PER_FARM));
  const lists = await Promise.all(
    sizes.map((k) => {
      const farm = spawn(process.execPath, ["--import", TSX_LOADER, path.join(here, "agent-farm.ts"), String(k)], { stdio: ["ignore", "pipe", "inherit"] });
      farms.push(farm);
      let out = "";
      return new Promise<string[]>((resolve, reject) => {
        farm.stdout!.on("data", (d) => {
          out += d;
          if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!).addresses);
        });
        farm.on("exit", (code) => reject(new Error(`agent farm exited ${code}`)));
      });
    }),
  );
  return lists.flat();
}

/** Resets this process's peak resident set size (VmHWM) to its current size (Linux 4.0+: clear_refs "5"). */
function resetPeakRss(): void {
  writeFileSync("/proc/self/clear_refs", "5");
}

/** This process's peak resident set size since the last reset, in bytes (VmHWM of /proc/self/status). */
function peakRssBytes(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
  if (!m) throw new Error("/proc/self/status has no VmHWM line");
  return Number(m[1]) * 1024;
}

/** The V8 flags the controller daemon runs with: those on bin/fleet-controller's `#!/usr/bin/env -S node ...` line. */
export function controllerV8Flags(): string[] {
  const line = readFileSync(path.join(here, "../../bin/fleet-controller"), "utf8").split("\n")[0]!;
  const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(line);
  if (!m) throw new Error(`bin/fleet-controller: expected a first line "#!/usr/bin/env -S node [V8 flags]", got ${JSON.stringify(line)}`);
  return m[1]!.trim().split(/\s+/).filter(Boolean);
}

/**
 * The benchmark, its controller in a process with the daemon's V8 flags (this one when it has
 * them, else a child that runs `measureScale` and prints its figures).
 */
export async function benchScale(n = 10_000, batch = 500): Promise<Awaited<ReturnType<typeof measureScale>>> {
  const flags = controllerV8Flags();
  if (flags.every((f) => process.execArgv.includes(f))) return measureScale(n, batch);
  const child = spawn(process.execPath, [...flags, "--import", TSX_LOADER, fileURLToPath(import.meta.url), "--measure", String(n), String(batch)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`scale benchmark process exited ${code}`);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

/** Warm runs after the cold one: one run's figure moves by about a tenth from run to run. */
const WARM_RUNS = 3;

async function measureScale(n: number, batch: number) {
  ensureOpenFiles(n);
  const farms: ChildProcess[] = [];
  const addresses = await startFarms(n, farms).catch((err) => {
    for (const farm of farms) farm.kill("SIGTERM");
    throw err;
  });
  const db = path.join(os.tmpdir(), `fleet-bench-scale-${process.pid}.db`);
  rmSync(db, { force: true });
  const timed = timedStore(new SqliteHistoryStore(db));
  const core = benchController("farm", "svc", addresses, db, timed.store);
  try {
    // Warm-up: connect every channel once, so the run measures steady-state work.
    await core.groupStatus("farm");
    /** One full rolling reload of every agent, measured. The first run includes JIT warm-up. */
    const batches = Math.ceil(n / batch);
    const measure = async () => {
      // The kernel's own peak (VmHWM), reset first: no sampling timer adding its work to the CPU measured.
      resetPeakRss();
      let gcMs = 0;
      const gc = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) gcMs += e.duration;
      });
      gc.observe({ entryTypes: ["gc"] });
      const cpu0 = process.cpuUsage();
      const w0 = timed.writeMs();
      const c0 = timed.commits();
      const t0 = performance.now();
      const final = await rollingReload(core, "farm", batch, true);
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const peakRss = peakRssBytes();
      gc.disconnect();
      const cpuMs = (cpu.user + cpu.system) / 1000;
      return {
        hosts: n,
        batch,
        state: final.state,
        ok: final.hostsOk,
        wallSeconds: +(wallMs / 1000).toFixed(2),
        controllerCpuMs: Math.round(cpuMs),
        /** The kernel's share: on loopback it includes receive work for the agents' sockets done in this process's time. */
        controllerSystemCpuMs: Math.round(cpu.system / 1000),
        controllerCpuMsPerHostStep: +(cpuMs / n).toFixed(3),
        controllerPeakRssMb: Math.round(peakRss / 1048576),
        /** Time in the garbage collector's pauses on the main thread (part of the CPU above). */
        gcPauseMs: Math.round(gcMs),
        historyWriteMs: Math.round(timed.writeMs() - w0),
        historyWriteMsPerHost: +((timed.writeMs() - w0) / n).toFixed(3),
        historyWriteMsPerBatch: +((timed.writeMs() - w0) / batches).toFixed(1),
        historyCommitsPerBatch: +((timed.commits() - c0) / batches).toFixed(1),
      };
    };
    // One cold run (JIT warm-up included), then warm runs: the figure is their median, with the spread.
    const cold = await measure();
    const warm: Awaited<ReturnType<typeof measure>>[] = [];
    for (let i = 0; i < WARM_RUNS; i++) warm.push(await measure());
    const perStep = warm.map((r) => r.controllerCpuMsPerHostStep).sort((a, b) => a - b);
    const median = warm.find((r) => r.controllerCpuMsPerHostStep === perStep[perStep.length >> 1])!;
    const result = { ...median, warmRuns: warm.length, cpuMsPerHostStepMin: perStep[0]!, cpuMsPerHostStepMax: perStep.at(-1)!, cold };
    return { reload: result, planAndRecord: [100, 1000, 10_000].map((k) => planAndRecord(k)) };
  } finally {
    await core.shutdown();
    for (const farm of farms) farm.kill("SIGTERM");
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  }
}

/** Planning and recording a rollout of k hosts (every step run and finished, with its events), without agents. */
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
  // As the executor records a batch: its start (steps running, one event per host) in one
  // transaction, its results (a result and an event per host) in another.
  for (const b of plan.batches) {
    store.transaction(() => {
      store.markStepsRunning(r.id, b.hosts, Date.now());
      for (const host of b.hosts) store.addEvent(r.id, "host_started", host, "reloading s", Date.now());
    });
    store.transaction(() => {
      for (const host of b.hosts) {
        store.finishSteps(r.id, [{ host, result }], Date.now());
        store.addEvent(r.id, "host_finished", host, "ok [reloaded]", Date.now());
      }
    });
  }
  store.finishRollout(r.id, "succeeded", "", Date.now());
  const totalMs = performance.now() - t0;
  store.close();
  rmSync(db, { force: true });
  return { hosts: k, batches: plan.batches.length, planMs: +planMs.toFixed(2), recordMs: Math.round(totalMs - planMs), recordMsPerHost: +((totalMs - planMs) / k).toFixed(3) };
}

if (process.argv[2] === "--measure") {
  const figures = await measureScale(Number(process.argv[3]), Number(process.argv[4]));
  process.stdout.write(JSON.stringify(figures) + "\n", () => process.exit(0));
}

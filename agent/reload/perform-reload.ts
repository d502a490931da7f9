// The reload sequence of DESIGN.md: baseline, refuse what cannot reload,
// check the config, probe through the window, send the reload, wait for a new
// generation, stay healthy, then classify from the evidence.
import type { ServiceConfig } from "../config/agent-config.js";
import { configFileStates, type ConfigFileState } from "../configs/config-file-state.js";
import type { MainProcess, ServiceDriver } from "../drivers/service-driver.js";
import type { CommandRunner } from "../process/command-runner.js";
import { childrenOf, listeningSocketInodes, readProc, socketInodes } from "../process/proc-fs.js";
import { ProbeLoop, type ProbeCounts } from "../probes/probe-loop.js";
import { classifyOutcome, type OutcomeWord, type ReloadFacts } from "../verify/classify-outcome.js";
import { startGenerationWatcher, type GenerationSource } from "../verify/generation-watcher.js";
import { LogTail } from "../verify/log-tail.js";

export interface ReloadOptions {
  allowRestart: boolean;
  generationTimeoutMs?: number;
  healthyForMs?: number;
  signal?: AbortSignal;
  /** The caller already validated the config (a config push). */
  skipCheck?: boolean;
}

export interface CheckReport {
  ran: boolean;
  ok: boolean;
  exitCode: number;
  output: string;
  durationMs: number;
  argv: string[];
}

export interface ReloadEvidence {
  method: string;
  action: string;
  signalled: boolean;
  mainBefore?: MainProcess;
  mainAfter?: MainProcess;
  workersBefore: number[];
  workersAfter: number[];
  generation: { source: GenerationSource; observed: boolean; before: string; after: string; note: string };
  probes: ProbeCounts;
  check: CheckReport;
  durations: { checkMs: number; signalMs: number; generationMs: number; healthyMs: number; totalMs: number };
  rejectMarker: string;
  configs: ConfigFileState[];
  listenBefore: number[];
  listenAfter: number[];
}

export interface ReloadReport {
  service: string;
  outcome: OutcomeWord;
  ok: boolean;
  reason: string;
  evidence: ReloadEvidence;
}

const POLL_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

export function substitutePath(argv: string[], path: string): string[] {
  return argv.map((a) => a.replaceAll("{path}", path));
}

export async function performReload(svc: ServiceConfig, driver: ServiceDriver, runner: CommandRunner, opts: ReloadOptions): Promise<ReloadReport> {
  const t0 = now();
  const generationTimeoutMs = opts.generationTimeoutMs || svc.timeouts.generationMs;
  const healthyForMs = opts.healthyForMs || svc.timeouts.healthyForMs;
  const restartAllowed = opts.allowRestart && svc.allowRestart;
  const ev: ReloadEvidence = {
    method: driver.method,
    action: "",
    signalled: false,
    workersBefore: [],
    workersAfter: [],
    generation: { source: "none", observed: false, before: "", after: "", note: "" },
    probes: { sent: 0, failed: 0, refused: 0, firstFailure: "" },
    check: { ran: false, ok: false, exitCode: 0, output: "", durationMs: 0, argv: [] },
    durations: { checkMs: 0, signalMs: 0, generationMs: 0, healthyMs: 0, totalMs: 0 },
    rejectMarker: "",
    configs: [],
    listenBefore: [],
    listenAfter: [],
  };
  const baseFacts = {
    generation: { source: "none" as GenerationSource, observed: false, timeoutMs: generationTimeoutMs },
    probes: { declared: svc.health.length > 0, ...ev.probes },
    healthyForMs,
    roundsAfterGeneration: 0,
    restartAllowed,
  };
  const finish = (facts: ReloadFacts): ReloadReport => {
    const c = classifyOutcome(facts);
    ev.durations.totalMs = Math.round(now() - t0);
    return { service: svc.name, outcome: c.outcome, ok: c.ok, reason: c.reason, evidence: ev };
  };
  const stop = (outcome: "not_running" | "refused" | "failed" | "rejected", reason: string) => finish({ ...baseFacts, stoppedBefore: { outcome, reason } });

  // 1. Baseline.
  const located = await driver.locate();
  if (located?.state === "not_running") return stop("not_running", located.reason);
  if (located?.state === "error") return stop("failed", located.reason);
  const main = located?.main;
  ev.mainBefore = main;
  [ev.workersBefore, ev.listenBefore, ev.configs] = await Promise.all([
    main ? childrenOf(main.pid) : [],
    main ? listeningSocketInodes(main.pid) : [],
    configFileStates(svc.configs),
  ]);

  // 2. Refuse what cannot reload.
  let refusal: string | undefined;
  try {
    refusal = await driver.preflight(main);
  } catch (err) {
    return stop("failed", (err as Error).message);
  }
  if (refusal) return stop("refused", refusal);

  // 3. Config check: a failure means nothing is signalled.
  if (svc.check && !opts.skipCheck) {
    const argv = svc.configs[0] ? substitutePath(svc.check, svc.configs[0].path) : svc.check;
    const r = await runner.run(argv, { timeoutMs: svc.timeouts.commandMs, signal: opts.signal });
    ev.check = { ran: true, ok: r.exitCode === 0 && !r.timedOut, exitCode: r.exitCode, output: r.output, durationMs: r.durationMs, argv };
    ev.durations.checkMs = r.durationMs;
    if (!ev.check.ok) {
      const why = r.timedOut ? `timed out after ${svc.timeouts.commandMs}ms` : `exit ${r.exitCode}`;
      return stop("rejected", `config check failed (${why}); nothing was signalled: ${r.output || "(no output)"}`);
    }
  }
  if (opts.signal?.aborted) return stop("failed", "aborted before the reload was sent");

  const watcher = await startGenerationWatcher(svc.generation, main?.pid, ev.workersBefore, ev.listenBefore);
  ev.generation = { source: watcher.source, observed: false, before: watcher.before, after: "", note: watcher.note };
  const markers = svc.rejectMarkers ? new LogTail(svc.rejectMarkers.log) : undefined;
  await markers?.begin();

  // 4. Probe continuously through the window.
  const loop = new ProbeLoop(svc.health, svc.timeouts.probeIntervalMs, runner).start();
  try {
    // 5. Send the reload.
    const tSignal = now();
    loop.markWindowStart();
    const trig = await driver.trigger(main, { timeoutMs: svc.timeouts.commandMs, signal: opts.signal });
    ev.action = trig.action;
    ev.durations.signalMs = Math.round(now() - tSignal);
    if (!trig.ok) {
      ev.probes = await loop.stop();
      return finish({ ...baseFacts, triggerFailure: { outcome: trig.outcome, reason: trig.reason } });
    }
    ev.signalled = true;

    // Wait for a new generation, a rejection marker, or the main process changing.
    const deadline = tSignal + generationTimeoutMs;
    let observed = false;
    let mainMoved = false;
    for (;;) {
      observed = await watcher.poll();
      if (markers && !ev.rejectMarker) ev.rejectMarker = (await markers.findNew(svc.rejectMarkers!.pattern)) ?? "";
      if (observed || ev.rejectMarker || watcher.source === "none") break;
      if (main) {
        const p = await readProc(main.pid);
        if (!p || p.startTime !== main.startTime) {
          mainMoved = true;
          break;
        }
      }
      if (now() >= deadline || opts.signal?.aborted) break;
      await sleep(POLL_MS);
    }
    const tGeneration = now();
    ev.durations.generationMs = Math.round(tGeneration - tSignal);
    // Without generation evidence, health is judged from the signal on.
    loop.markHealthStart(watcher.source === "none" ? tSignal : tGeneration);

    // Stay healthy for healthy_for, with at least one full probe round after the new generation.
    if (!mainMoved && !ev.rejectMarker && (observed || watcher.source === "none")) {
      const hardStop = tGeneration + healthyForMs + Math.max(2000, healthyForMs);
      while (!opts.signal?.aborted && now() < hardStop) {
        if (loop.counts.failed > 0) break;
        if (markers && !ev.rejectMarker) {
          ev.rejectMarker = (await markers.findNew(svc.rejectMarkers!.pattern)) ?? "";
          if (ev.rejectMarker) break;
        }
        if (now() >= tGeneration + healthyForMs && (!loop.hasProbes || loop.roundsSince(tGeneration) > 0)) break;
        await sleep(POLL_MS);
      }
      ev.durations.healthyMs = Math.round(now() - tGeneration);
    }
    const roundsAfterGeneration = loop.roundsSince(tGeneration);
    ev.probes = { ...(await loop.stop()) };
    ev.generation.observed = observed;
    ev.generation.after = watcher.after;

    // 6. Identity after: find the main process again (a restart shows as a new one).
    let mainAfter: ReloadFacts["mainAfter"];
    if (main) {
      let again = await driver.locate();
      const settle = now() + Math.min(2000, Math.max(0, deadline - now()));
      // A supervisor may take a moment to bring a replacement up.
      while (again?.state !== "running" && now() < settle) {
        await sleep(50);
        again = await driver.locate();
      }
      if (again?.state === "running") {
        ev.mainAfter = again.main;
        mainAfter = again.main;
        // Which of the baseline listeners the main process still holds (fd links only; the TCP tables were read once).
        const listeners = new Set(ev.listenBefore);
        const [workers, held] = await Promise.all([childrenOf(again.main.pid), socketInodes(again.main.pid)]);
        ev.workersAfter = workers;
        ev.listenAfter = [...held].filter((i) => listeners.has(i)).sort((a, b) => a - b);
      } else {
        mainAfter = "gone";
      }
    }
    ev.configs = await configFileStates(svc.configs);
    return finish({
      ...baseFacts,
      mainBefore: main,
      mainAfter,
      generation: { source: watcher.source, observed, timeoutMs: generationTimeoutMs },
      rejectMarker: ev.rejectMarker || undefined,
      probes: { declared: svc.health.length > 0, ...ev.probes },
      roundsAfterGeneration,
    });
  } finally {
    await loop.stop();
  }
}

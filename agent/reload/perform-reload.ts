// The reload sequence: baseline and target identity, refuse what cannot
// reload, check the config, probe through the window, send the reload, wait
// for a new generation, stay healthy, find the main process again, then
// classify from the evidence. Each phase is one function over one run context.
import type { ServiceConfig } from "../config/agent-config.js";
import { configFileStates, type ConfigFileState } from "../configs/config-file-state.js";
import type { Located, MainProcess, ServiceDriver, TargetGuard } from "../drivers/service-driver.js";
import { targetVerdict, type TargetContext } from "../drivers/target-identity.js";
import { commandFailure, type CommandRunner } from "../process/command-runner.js";
import { procFsInspector, type FactsNeeded, type ProcessInspector } from "../process/process-inspector.js";
import { userName } from "../process/proc-fs.js";
import { ProbeLoop, type ProbeCounts } from "../probes/probe-loop.js";
import { classifyOutcome, type OutcomeWord, type ReloadFacts } from "../verify/classify-outcome.js";
import { startGenerationWatcher, type GenerationSource, type GenerationWatcher } from "../verify/generation-watcher.js";
import { journalctlReader, JournalTail, type JournalReader } from "../verify/journal-tail.js";
import { LogTail } from "../verify/log-tail.js";

export interface ReloadOptions {
  allowRestart: boolean;
  generationTimeoutMs?: number;
  healthyForMs?: number;
  signal?: AbortSignal;
  /** The caller already validated the config (a config push). */
  skipCheck?: boolean;
  /**
   * The change's commit point, run right before the reload is sent (after the config check): it
   * rejects when the caller may no longer act (its controller was fenced meanwhile), and the
   * rejection ends the reload with nothing sent.
   */
  beforeSignal?: () => Promise<void>;
  /** /proc by default. */
  inspector?: ProcessInspector;
  /** journalctl through the runner by default. */
  journal?: JournalReader;
}

export interface CheckReport {
  ran: boolean;
  ok: boolean;
  exitCode: number;
  output: string;
  durationMs: number;
  argv: string[];
  /** Killed at command_timeout (or, aborted, at agent shutdown): exitCode is then meaningless. */
  timedOut?: boolean;
  aborted?: boolean;
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

/** Where rejection lines are read from: a log file or the unit's journal, only what was written after the signal. */
interface LineSource {
  begin(): Promise<void>;
  findNew(pattern: RegExp): Promise<string | undefined>;
}

/** Everything one reload gathers as it goes. */
interface RunContext {
  svc: ServiceConfig;
  driver: ServiceDriver;
  runner: CommandRunner;
  opts: ReloadOptions;
  inspector: ProcessInspector;
  journal: JournalReader;
  t0: number;
  facts: Omit<ReloadFacts, "stoppedBefore" | "triggerFailure">;
  ev: ReloadEvidence;
  main?: MainProcess;
  /** The main process's full command line, read beside the reload (the baseline used the kernel's short name). */
  mainCommand?: CommandRead;
  /** That command line, when its read had finished by the signal (after it, a re-exec may have changed it). */
  commandAtSignal?: string;
  watcher?: GenerationWatcher;
  markers?: LineSource;
  tSignal: number;
  tGeneration: number;
  mainMoved: boolean;
  /** The last error reading the generation evidence, if any. */
  readError?: string;
}

type Stop = { outcome: "not_running" | "refused" | "failed" | "rejected"; reason: string };

/**
 * Cadence of the slower looks while waiting: reject markers, the main process's
 * identity, and the health window's markers. The generation evidence itself is
 * polled at its watcher's own cadence (a few ms for /proc), and the health
 * window ends the moment its last required probe round completes.
 */
const POLL_MS = 20;
/**
 * After generation_timeout without a new generation, how long to keep looking
 * to tell "started but too slow" (failed) from "nothing at all" (rejected).
 * It never turns a timeout into a success.
 */
const CHARACTERIZE_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

export function substitutePath(argv: string[], path: string): string[] {
  return argv.map((a) => a.replaceAll("{path}", path));
}

/** Why a check failed: a timeout says so instead of the exit code a killed check never had. */
export function checkWhy(check: CheckReport, timeoutMs: number): string {
  return commandFailure({ ...check, timedOut: !!check.timedOut }, timeoutMs);
}

/** A failed check's output, or why it failed when it printed nothing (or was killed). */
export function checkFailure(check: CheckReport, timeoutMs: number): string {
  if (check.timedOut || check.aborted) return `${checkWhy(check, timeoutMs)}${check.output ? `: ${check.output}` : ""}`;
  return check.output || checkWhy(check, timeoutMs);
}

export async function performReload(svc: ServiceConfig, driver: ServiceDriver, runner: CommandRunner, opts: ReloadOptions): Promise<ReloadReport> {
  const ctx = newContext(svc, driver, runner, opts);
  const stopped = (await baseline(ctx)) ?? (await refuse(ctx)) ?? (await checkConfig(ctx));
  if (stopped) return finishEarly(ctx, { ...ctx.facts, stoppedBefore: stopped });
  if (opts.signal?.aborted) return finishEarly(ctx, { ...ctx.facts, stoppedBefore: { outcome: "failed", reason: "aborted before the reload was sent" } });
  await prepareEvidence(ctx);

  const loop = new ProbeLoop(svc.health, svc.timeouts.probeIntervalMs, runner).start();
  try {
    const sendFailure = await send(ctx, loop);
    if (sendFailure) {
      ctx.ev.probes = await loop.stop();
      return finishEarly(ctx, { ...ctx.facts, triggerFailure: sendFailure });
    }
    await awaitGeneration(ctx, loop);
    await stayHealthy(ctx, loop);
    ctx.facts.roundsAfterGeneration = loop.roundsSince(ctx.tGeneration);
    ctx.ev.probes = { ...(await loop.stop()) };
    ctx.facts.probes = { declared: svc.health.length > 0, ...ctx.ev.probes };
    await identifyAfter(ctx);
    return finish(ctx, ctx.facts);
  } finally {
    await loop.stop();
  }
}

function newContext(svc: ServiceConfig, driver: ServiceDriver, runner: CommandRunner, opts: ReloadOptions): RunContext {
  const generationTimeoutMs = opts.generationTimeoutMs || svc.timeouts.generationMs;
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
  return {
    svc,
    driver,
    runner,
    opts,
    inspector: opts.inspector ?? procFsInspector,
    journal: opts.journal ?? journalctlReader(runner),
    t0: now(),
    ev,
    facts: {
      generation: { source: "none", observed: false, timeoutMs: generationTimeoutMs },
      probes: { declared: svc.health.length > 0, ...ev.probes },
      healthyForMs: opts.healthyForMs || svc.timeouts.healthyForMs,
      roundsAfterGeneration: 0,
      restartAllowed: opts.allowRestart && svc.allowRestart,
    },
    tSignal: 0,
    tGeneration: 0,
    mainMoved: false,
  };
}

/** A reload that stopped before it was watched: the config files' state is read now (a full run reads it at the end). */
async function finishEarly(ctx: RunContext, facts: ReloadFacts): Promise<ReloadReport> {
  [ctx.ev.configs] = await Promise.all([configFileStates(ctx.svc.configs), settleCommandBefore(ctx)]);
  return finish(ctx, facts);
}

/**
 * The baseline located the main process without the reads that may wait (its command line, its
 * executable's identity unless expect.exe needs it): those would put a thread-pool round trip
 * before the signal. The full command line is read beside the reload and shown in the evidence.
 */
const BASELINE_NEEDS = (svc: ServiceConfig): FactsNeeded => ({ command: false, exeId: !!svc.expect?.exe });

/** How long the evidence waits for a full command line: its read waits on the target's memory, which a hostile target can hold. */
const COMMAND_READ_MS = 1000;

interface CommandRead {
  done: boolean;
  value?: string;
  read: Promise<string | undefined>;
}

/** The process's full command line, or undefined when it is gone, replaced, or not read within COMMAND_READ_MS. */
function readFullCommand(ctx: RunContext, main: MainProcess): CommandRead {
  let timer: NodeJS.Timeout | undefined;
  const inspected = ctx.inspector.inspect(main.pid, { exeId: false }).then(
    (p) => (p && p.startTime === main.startTime ? p.command : undefined),
    () => undefined,
  );
  const r: CommandRead = { done: false, read: Promise.resolve(undefined) };
  r.read = Promise.race([inspected, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), COMMAND_READ_MS)))]).then((value) => {
    clearTimeout(timer);
    Object.assign(r, { done: true, value });
    return value;
  });
  return r;
}

/** The baseline's full command line into mainBefore: awaited (bounded) if nothing was sent, else only a read finished before the signal. */
async function settleCommandBefore(ctx: RunContext): Promise<void> {
  const command = ctx.tSignal ? ctx.commandAtSignal : await ctx.mainCommand?.read;
  if (command && ctx.main) ctx.main.command = command;
}

function finish(ctx: RunContext, facts: ReloadFacts): ReloadReport {
  const c = classifyOutcome(facts);
  ctx.ev.durations.totalMs = Math.round(now() - ctx.t0);
  return { service: ctx.svc.name, outcome: c.outcome, ok: c.ok, reason: c.reason, evidence: ctx.ev };
}

/** 1. Baseline: find the main process and make sure it is one the agent may act on. */
async function baseline(ctx: RunContext): Promise<Stop | undefined> {
  let located: Located | undefined;
  try {
    located = await ctx.driver.locate(BASELINE_NEEDS(ctx.svc));
  } catch (err) {
    return { outcome: "failed", reason: (err as Error).message };
  }
  if (located?.state === "not_running") return { outcome: "not_running", reason: located.reason };
  if (located?.state === "error") return { outcome: "failed", reason: located.reason };
  if (located) {
    const verdict = targetVerdict(located.facts, await targetContext(ctx));
    if (verdict) return verdict;
  }
  const main = located?.main;
  ctx.main = main;
  if (main) ctx.mainCommand = readFullCommand(ctx, main);
  ctx.ev.mainBefore = main;
  ctx.facts.mainBefore = main;
  [ctx.ev.workersBefore, ctx.ev.listenBefore] = await Promise.all([main ? ctx.inspector.children(main.pid) : [], main ? ctx.inspector.listeningSocketInodes(main.pid) : []]);
  return undefined;
}

async function targetContext(ctx: RunContext): Promise<TargetContext> {
  const exe = ctx.svc.expect?.exe;
  const [selfMntNs, expectExeId] = await Promise.all([ctx.inspector.selfMountNamespace(), exe ? ctx.inspector.fileId(exe) : undefined]);
  return { selfPid: process.pid, parentPid: process.ppid, selfMntNs, expect: ctx.svc.expect, expectExeId, signal: ctx.driver.signal, userName };
}

/** The same checks as at baseline, again right before anything is sent. */
function targetGuard(ctx: RunContext): TargetGuard {
  return async () => {
    const main = ctx.main;
    if (!main) return undefined;
    // Nothing that may wait right before the signal: the executable's identity only when expect.exe needs it.
    const p = await ctx.inspector.inspect(main.pid, { command: false, exeId: !!ctx.svc.expect?.exe });
    if (!p || p.startTime !== main.startTime) return { outcome: "failed", reason: `pid ${main.pid} is no longer the process seen at baseline (it exited or the PID was reused); nothing was signalled` };
    return targetVerdict(p, await targetContext(ctx));
  };
}

/** 2. Refuse, before anything is touched, what cannot reload. */
async function refuse(ctx: RunContext): Promise<Stop | undefined> {
  try {
    const refusal = await ctx.driver.preflight(ctx.main);
    return refusal ? { outcome: "refused", reason: refusal } : undefined;
  } catch (err) {
    return { outcome: "failed", reason: (err as Error).message };
  }
}

/** 3. Config check: a failure means nothing is signalled. */
async function checkConfig(ctx: RunContext): Promise<Stop | undefined> {
  const { svc, opts } = ctx;
  if (!svc.check || opts.skipCheck) return undefined;
  const argv = svc.configs[0] ? substitutePath(svc.check, svc.configs[0].path) : svc.check;
  const r = await ctx.runner.run(argv, { timeoutMs: svc.timeouts.commandMs, signal: opts.signal });
  ctx.ev.check = { ran: true, ok: r.exitCode === 0 && !r.timedOut && !r.aborted, exitCode: r.exitCode, output: r.output, durationMs: r.durationMs, argv, timedOut: r.timedOut, aborted: !!r.aborted };
  ctx.ev.durations.checkMs = r.durationMs;
  if (ctx.ev.check.ok) return undefined;
  const why = checkWhy(ctx.ev.check, svc.timeouts.commandMs);
  // A check that never gave a verdict (killed at its timeout, or unable to start) did not reject anything.
  if (r.timedOut || r.aborted || r.spawnError) return { outcome: "failed", reason: `config check gave no verdict (${why}); nothing was signalled${r.output ? `: ${r.output}` : ""}` };
  return { outcome: "rejected", reason: `config check failed (${why}); nothing was signalled: ${ctx.ev.check.output || "(no output)"}` };
}

/** 4. Generation watcher and reject markers, before the signal. */
async function prepareEvidence(ctx: RunContext): Promise<void> {
  const { svc, ev } = ctx;
  ctx.watcher = await startGenerationWatcher(svc.generation, { mainPid: ctx.main?.pid, workersBefore: ev.workersBefore, listenBefore: ev.listenBefore }, { inspector: ctx.inspector, journal: ctx.journal });
  ev.generation = { source: ctx.watcher.source, observed: false, before: ctx.watcher.before, after: "", note: ctx.watcher.note };
  const m = svc.rejectMarkers;
  ctx.markers = !m ? undefined : m.source === "log" ? new LogTail(m.log) : new JournalTail(ctx.journal, m.unit);
}

/** 5. Send the reload, the target re-checked right before. Log sources start counting here. */
async function send(ctx: RunContext, loop: ProbeLoop): Promise<{ outcome: "refused" | "failed"; reason: string } | undefined> {
  const { svc, ev } = ctx;
  try {
    await Promise.all([ctx.markers?.begin(), ctx.watcher!.begin()]);
  } catch (err) {
    return { outcome: "failed", reason: `cannot read the log evidence before the reload: ${(err as Error).message}; nothing was sent` };
  }
  await ctx.opts.beforeSignal?.();
  // Read after the signal, a command line may be the re-executed program's (haproxy, sshd): only one read before counts.
  if (ctx.mainCommand?.done) ctx.commandAtSignal = ctx.mainCommand.value;
  ctx.tSignal = now();
  loop.markWindowStart();
  const trig = await ctx.driver.trigger(ctx.main, { timeoutMs: svc.timeouts.commandMs, signal: ctx.opts.signal, guard: targetGuard(ctx) });
  ev.action = trig.action;
  ev.durations.signalMs = Math.round(now() - ctx.tSignal);
  if (!trig.ok) return { outcome: trig.outcome === "not_running" ? "failed" : trig.outcome, reason: trig.reason };
  ev.signalled = true;
  return undefined;
}

/** A reject marker, if one appeared since the last look. */
async function lookForRejection(ctx: RunContext): Promise<void> {
  if (!ctx.markers || ctx.ev.rejectMarker) return;
  ctx.ev.rejectMarker = (await ctx.markers.findNew(ctx.svc.rejectMarkers!.pattern).catch(() => undefined)) ?? "";
}

/** 6. Wait for a new generation, a rejection marker, or the main process changing. */
async function awaitGeneration(ctx: RunContext, loop: ProbeLoop): Promise<void> {
  const watcher = ctx.watcher!;
  const deadline = ctx.tSignal + ctx.facts.generation.timeoutMs;
  let observed = false;
  let nextSlowLook = 0;
  for (;;) {
    observed = await pollWatcher(ctx);
    if (observed || watcher.source === "none" || now() >= nextSlowLook) {
      await lookForRejection(ctx);
      if (observed || ctx.ev.rejectMarker || watcher.source === "none") break;
      if (await mainMoved(ctx)) break;
      nextSlowLook = now() + POLL_MS;
    }
    if (now() >= deadline || ctx.opts.signal?.aborted) break;
    await sleep(Math.min(watcher.pollEveryMs, Math.max(1, deadline - now())));
  }
  ctx.tGeneration = now();
  ctx.ev.durations.generationMs = Math.round(ctx.tGeneration - ctx.tSignal);
  let progress = watcher.progress;
  if (!observed && watcher.source !== "none" && !ctx.ev.rejectMarker && !ctx.mainMoved && !ctx.opts.signal?.aborted) progress = await characterizeTimeout(ctx);
  // Without generation evidence, health is judged from the signal on.
  loop.markHealthStart(watcher.source === "none" ? ctx.tSignal : ctx.tGeneration);
  ctx.ev.generation.observed = observed;
  ctx.ev.generation.after = watcher.after;
  ctx.facts.generation = { ...ctx.facts.generation, source: watcher.source, observed, awaited: watcher.awaited, progress, readError: ctx.readError };
  ctx.facts.aborted = !observed && ctx.opts.signal?.aborted;
}

/** The main process exited, turned zombie or was replaced since the baseline. */
async function mainMoved(ctx: RunContext): Promise<boolean> {
  if (!ctx.main) return false;
  const p = await ctx.inspector.identity(ctx.main.pid);
  ctx.mainMoved = !p || p.startTime !== ctx.main.startTime || p.state === "Z";
  return ctx.mainMoved;
}

async function pollWatcher(ctx: RunContext): Promise<boolean> {
  try {
    const seen = await ctx.watcher!.poll();
    ctx.readError = undefined;
    return seen;
  } catch (err) {
    ctx.readError = (err as Error).message;
    return false;
  }
}

/** Keeps watching briefly after a timeout, only to say what was seen. */
async function characterizeTimeout(ctx: RunContext): Promise<string> {
  const until = now() + CHARACTERIZE_MS;
  while (now() < until && !ctx.opts.signal?.aborted) {
    const late = await pollWatcher(ctx);
    await lookForRejection(ctx);
    if (ctx.watcher!.progress || ctx.ev.rejectMarker) return late ? `${ctx.watcher!.progress}, ${Math.round(now() - ctx.tSignal)}ms after the signal (too late)` : ctx.watcher!.progress;
    await sleep(POLL_MS);
  }
  return ctx.watcher!.progress;
}

/** 7. Stay healthy for healthy_for, with at least one full probe round after the new generation. */
async function stayHealthy(ctx: RunContext, loop: ProbeLoop): Promise<void> {
  const { ev, opts } = ctx;
  const g = ctx.facts.generation;
  if (ctx.mainMoved || ev.rejectMarker || !(g.observed || g.source === "none")) return;
  const healthyForMs = ctx.facts.healthyForMs;
  const hardStop = ctx.tGeneration + healthyForMs + Math.max(2000, healthyForMs);
  while (!opts.signal?.aborted && now() < hardStop) {
    if (loop.counts.failed > 0) break;
    await lookForRejection(ctx);
    if (ev.rejectMarker) break;
    const windowLeft = ctx.tGeneration + healthyForMs - now();
    if (windowLeft <= 0 && (!loop.hasProbes || loop.roundsSince(ctx.tGeneration) > 0)) break;
    // Wake when a probe round completes, when the window ends, or to look at the markers again.
    const pause = sleep(windowLeft > 0 ? Math.max(1, Math.min(POLL_MS, windowLeft)) : POLL_MS);
    await (loop.hasProbes ? Promise.race([loop.nextRound(), pause]) : pause);
  }
  ev.durations.healthyMs = Math.round(now() - ctx.tGeneration);
}

/** 8. Identity after: find the main process again (a restart shows as a new one); the config files' state beside it. */
async function identifyAfter(ctx: RunContext): Promise<void> {
  ctx.facts.rejectMarker = ctx.ev.rejectMarker || undefined;
  const [, configs] = await Promise.all([ctx.main ? findMainAgain(ctx) : undefined, configFileStates(ctx.svc.configs), settleCommandBefore(ctx)]);
  ctx.ev.configs = configs;
}

async function findMainAgain(ctx: RunContext): Promise<void> {
  const { ev } = ctx;
  const locate = (): Promise<Located> =>
    ctx.driver.locate(BASELINE_NEEDS(ctx.svc)).then(
      (l) => l ?? { state: "error", reason: `${ctx.driver.method} cannot locate a main process` },
      (err: Error) => ({ state: "error", reason: err.message }),
    );
  let again = await locate();
  const deadline = ctx.tSignal + ctx.facts.generation.timeoutMs;
  const settle = now() + Math.min(2000, Math.max(0, deadline - now()));
  // A supervisor may take a moment to bring a replacement up.
  while (again.state !== "running" && now() < settle) {
    await sleep(50);
    again = await locate();
  }
  if (again.state !== "running") {
    ctx.facts.mainAfter = "gone";
    ctx.facts.mainGoneReason = again.reason;
    return;
  }
  ev.mainAfter = again.main;
  ctx.facts.mainAfter = again.main;
  // Which of the baseline listeners the main process still holds (fd links only; the TCP tables were read once).
  // Its command line is read again: the same process may have re-executed itself with other arguments.
  const listeners = new Set(ev.listenBefore);
  const [command, workers, held] = await Promise.all([readFullCommand(ctx, again.main).read, ctx.inspector.children(again.main.pid), ctx.inspector.socketInodes(again.main.pid)]);
  if (command) again.main.command = command;
  ev.workersAfter = workers;
  ev.listenAfter = [...held].filter((i) => listeners.has(i)).sort((a, b) => a - b);
}

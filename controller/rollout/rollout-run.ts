// One rollout being executed: batches in order, hosts of a batch in parallel,
// every transition recorded as it happens (through a HistoryJournal, so a
// failed write stops the rollout instead of losing what it learned). A
// rollback entry runs as a restore of the versions recorded on its steps.
import type { Logger } from "../../common/logger.js";
import type { HistoryStore, RolloutRecord, RolloutState, StepRecord, StepResult } from "../history/history-store.js";
import { requestIdFor, restoreRequestIdFor, type AgentActions } from "./agent-actions.js";
import { HistoryJournal } from "./history-journal.js";
import { shouldHalt } from "./plan-rollout.js";
import type { RolloutEvent, RolloutSettings } from "./rollout-executor.js";

export interface RunDeps {
  history: HistoryStore;
  actions: AgentActions;
  logger: Logger;
  now: () => number;
  bakeProbeEveryMs: number;
  journalRetryMs?: { first: number; max: number };
}

/** Why a rollout stopped before its end; the first reason wins, except that a storage fault always leaves it interrupted. */
export type StopReason = { kind: "abort"; by: string } | { kind: "shutdown" } | { kind: "storage"; error: Error };

type EventFields = Partial<RolloutEvent> & { kind: RolloutEvent["kind"]; message: string };

export class RolloutRun {
  readonly listeners = new Set<(e: RolloutEvent) => void>();
  readonly journal: HistoryJournal;
  /** What this run knows, ahead of the history when writes are failing. */
  private readonly steps: Map<string, StepRecord>;
  private readonly stopSignal = new AbortController();
  private stopReason: StopReason | undefined;
  private shuttingDown = false;
  private readonly restores: RestoreEntry;
  private readonly log: Logger;

  constructor(
    private readonly rollout: RolloutRecord,
    private readonly settings: RolloutSettings,
    private readonly deps: RunDeps,
    settled: { host: string; result: StepResult }[] = [],
  ) {
    this.log = deps.logger.child({ rollout: rollout.id, group: rollout.group });
    this.journal = new HistoryJournal({
      logger: this.log,
      onFault: (error) => this.stop({ kind: "storage", error }),
      atomically: (write) => deps.history.atomically(write),
      firstRetryMs: deps.journalRetryMs?.first,
      maxRetryMs: deps.journalRetryMs?.max,
    });
    this.steps = new Map(deps.history.getSteps(rollout.id).map((s) => [s.host, s]));
    this.restores = new RestoreEntry(rollout, settings, deps, this.journal);
    for (const s of settled) this.recordResult(s.host, s.result);
  }

  get id(): number {
    return this.rollout.id;
  }

  get stopped(): StopReason | undefined {
    return this.stopReason;
  }

  /** Stops starting hosts: in-flight hosts finish. */
  stop(reason: StopReason): void {
    if (reason.kind === "storage" ? this.stopReason?.kind === "storage" : this.stopReason) return;
    this.stopReason = reason;
    this.stopSignal.abort();
    if (reason.kind === "storage") this.emit({ kind: "halted", ok: false, message: `stopped acting: the history cannot be written (${reason.error.message}); results are kept and recorded as soon as it can be` });
  }

  /** Controller shutdown: stop, and do not wait for a history that cannot be written. */
  shutdown(): void {
    this.stop({ kind: "shutdown" });
    this.shuttingDown = true;
    this.journal.abandon();
  }

  emit(fields: EventFields): void {
    const at = this.deps.now();
    const event: RolloutEvent = { rolloutId: this.rollout.id, host: "", batch: -1, canary: false, outcome: "", ok: true, at, ...fields };
    if (fields.kind !== "finished") {
      const text = event.message + (event.outcome ? ` [${event.outcome}]` : "");
      this.journal.write(`event ${fields.kind}`, () => this.deps.history.addEvent(this.rollout.id, fields.kind, event.host, text, at));
    }
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.log.warn("event listener failed", { error: err });
      }
    }
  }

  async execute(): Promise<RolloutRecord> {
    const steps = [...this.steps.values()];
    const batches = groupByBatch(steps);
    this.emit({ kind: "started", message: `${this.rollout.group}: ${steps.length} hosts in ${batches.length} batches (${this.settings.policyText})` });
    this.log.info("rollout running", { kind: this.settings.kind, hosts: steps.length, batches: batches.length });
    const halted = this.settings.kind === "rollback" ? await this.runRestores() : await this.runBatches(batches);
    if (halted && this.settings.kind === "config" && this.settings.rollbackAll && this.stopReason?.kind !== "storage") await this.restoreDoneHosts();
    this.restores.close();
    return this.finish(halted);
  }

  /** Returns why the rollout halted, or "". */
  private async runBatches(batches: Batch[]): Promise<string> {
    const recorded = [...this.steps.values()].filter((s) => s.status === "done" && !s.ok);
    let failures = recorded.length;
    // A resume first applies the halt rule to what is already recorded.
    const canaryRecorded = recorded.filter((s) => s.canary).length;
    if (shouldHalt(failures, this.settings.maxFailures, canaryRecorded > 0)) {
      return canaryRecorded ? `canary failed (${canaryRecorded} recorded before this run); no other host was touched` : `${failures} recorded failures exceed the allowed ${this.settings.maxFailures}`;
    }
    let first = true;
    for (const batch of batches) {
      const todo = batch.steps.filter((s) => s.status === "pending" || s.status === "running");
      if (todo.length === 0) continue;
      if (this.stopReason) break;
      if (!first && this.settings.pauseMs > 0) {
        this.emit({ kind: "pause", batch: batch.index, message: `pausing ${this.settings.pauseMs}ms before batch ${batch.index}` });
        await sleep(this.settings.pauseMs, this.stopSignal.signal);
        if (this.stopReason) break;
      }
      first = false;
      const results = await this.runBatch(batch, todo);
      const failed = results.filter((r) => !r.ok);
      failures += failed.length;
      const canaryFailed = batch.canary && failed.length > 0;
      if (shouldHalt(failures, this.settings.maxFailures, canaryFailed)) {
        // The first failure's own words, so the summary says what went wrong.
        const first = `${failed[0]?.host}: ${failed[0]?.outcome} — ${failed[0]?.reason}`;
        return canaryFailed ? `canary failed (${failed.length} of ${todo.length}; ${first}); no other host was touched` : `${failures} failures exceed the allowed ${this.settings.maxFailures} (${first})`;
      }
      if (batch.canary && this.settings.bakeMs > 0 && !this.stopReason) {
        const bad = await this.bake(batch.steps.map((s) => s.host));
        if (bad) return `canary unhealthy while baking: ${bad}`;
      }
    }
    return "";
  }

  private async runBatch(batch: Batch, todo: StepRecord[]): Promise<(StepResult & { host: string })[]> {
    const { settings } = this;
    this.emit({ kind: "batch", batch: batch.index, canary: batch.canary, message: `${batch.canary ? "canary " : ""}batch ${batch.index}: ${todo.map((s) => s.host).join(", ")}` });
    const inDoubt = new Set(todo.filter((s) => s.status === "running").map((s) => s.host));
    this.markRunning(todo.map((s) => s.host));
    const what = settings.kind === "config" ? `pushing ${settings.configPath} to ${settings.service}` : `reloading ${settings.service}`;
    for (const s of todo) {
      const doubt = inDoubt.has(s.host) ? " (in doubt after an interruption: asking again with the same request id, so an agent that did it replays its result)" : "";
      this.emit({ kind: "host_started", host: s.host, batch: batch.index, canary: batch.canary, message: what + doubt });
    }
    return Promise.all(
      todo.map(async (s) => {
        const result = settings.kind === "config" ? await this.pushHost(s.host) : await this.reloadHost(s.host);
        this.recordResult(s.host, result);
        this.emit({ kind: "host_finished", host: s.host, batch: batch.index, canary: batch.canary, outcome: result.outcome, ok: result.ok, message: result.reason });
        return { ...result, host: s.host };
      }),
    );
  }

  private async reloadHost(host: string): Promise<StepResult> {
    const { settings } = this;
    return accepting(await this.deps.actions.reload(host, { requestId: this.requestId(host), service: settings.service, allowRestart: settings.allowRestart }), settings);
  }

  /** Pushes the rollout's file; a host whose reload fails after the install is restored at once (even when the history cannot be written). */
  private async pushHost(host: string): Promise<StepResult> {
    const { settings } = this;
    const content = this.deps.history.getConfigVersion(settings.configSha256!);
    if (!content) return { outcome: "failed", ok: false, reason: `config version ${settings.configSha256} is missing from the history; nothing pushed`, evidence: "", probesSent: 0, probesFailed: 0, probesRefused: 0 };
    const { installed, ...pushed } = await this.deps.actions.push(host, {
      requestId: this.requestId(host),
      service: settings.service,
      path: settings.configPath!,
      content,
      sha256: settings.configSha256!,
      allowRestart: settings.allowRestart,
    });
    const result = accepting(pushed, settings);
    if (!result.ok && installed && result.previousSha256) await this.restoreHost(host, result.previousSha256, `its reload was ${result.outcome}`);
    return result;
  }

  private async restoreHost(host: string, sha: string, why: string): Promise<void> {
    this.emit({ kind: "rollback_started", host, message: `restoring ${sha.slice(0, 12)} of ${this.settings.configPath} (${why})` });
    const r = await this.restores.restore(host, sha);
    this.emit({ kind: "rollback", host, outcome: r.result.outcome, ok: r.result.ok, message: `restored ${sha.slice(0, 12)} (${why}) in ${r.entry}: ${r.result.reason}` });
  }

  /** --rollback-all after a halt: hosts that took the new file go back to their previous one. */
  private async restoreDoneHosts(): Promise<void> {
    const done = [...this.steps.values()].filter((s) => s.status === "done" && s.ok && s.previousSha256 && s.previousSha256 !== s.newSha256);
    for (const s of done) await this.restoreHost(s.host, s.previousSha256, "--rollback-all after the halt");
  }

  /** A rollback entry of its own: each host not done gets the version recorded on its step. */
  private async runRestores(): Promise<string> {
    const todo = [...this.steps.values()].filter((s) => s.status !== "done");
    if (todo.length === 0) return "";
    this.emit({ kind: "batch", batch: 0, message: `restoring ${todo.length} hosts to their previous ${this.settings.configPath}` });
    this.markRunning(todo.map((s) => s.host));
    await Promise.all(
      todo.map(async (s) => {
        this.emit({ kind: "host_started", host: s.host, batch: 0, message: `restoring ${s.targetSha256.slice(0, 12)} of ${this.settings.configPath} (the same request id as the interrupted restore)` });
        const result = await this.deps.actions.restore(s.host, {
          requestId: restoreRequestIdFor(this.deps.history.instanceId, this.rollout.parentId ?? this.rollout.id, s.host),
          service: this.settings.service,
          path: this.settings.configPath!,
          sha256: s.targetSha256,
          allowRestart: this.settings.allowRestart,
        });
        this.recordResult(s.host, result);
        this.emit({ kind: "host_finished", host: s.host, batch: 0, outcome: result.outcome, ok: result.ok, message: result.reason });
      }),
    );
    return "";
  }

  /** Probes the canaries for bakeMs; returns why one went bad, or "". */
  private async bake(hosts: string[]): Promise<string> {
    const { bakeMs, service } = this.settings;
    this.emit({ kind: "bake", message: `baking ${bakeMs}ms: probing ${hosts.join(", ")}` });
    const until = this.deps.now() + bakeMs;
    while (this.deps.now() < until && !this.stopReason) {
      for (const host of hosts) {
        const bad = await this.deps.actions.probe(host, service);
        if (bad) return `${host}: ${bad}`;
      }
      await sleep(Math.min(this.deps.bakeProbeEveryMs, Math.max(0, until - this.deps.now())), this.stopSignal.signal);
    }
    return "";
  }

  private requestId(host: string): string {
    return requestIdFor(this.deps.history.instanceId, this.rollout.id, host);
  }

  private markRunning(hosts: string[]) {
    const at = this.deps.now();
    for (const h of hosts) Object.assign(this.steps.get(h)!, { status: "running", startedAt: at });
    this.journal.write("steps running", () => this.deps.history.markStepsRunning(this.rollout.id, hosts, at));
  }

  private recordResult(host: string, result: StepResult) {
    const at = this.deps.now();
    Object.assign(this.steps.get(host)!, { ...result, status: "done", finishedAt: at, previousSha256: result.previousSha256 ?? "", newSha256: result.newSha256 ?? "" });
    this.journal.write(`result of ${host}`, () => this.deps.history.finishSteps(this.rollout.id, [{ host, result }], at));
  }

  /** Records how the rollout ended; resolves once that is written (or given up at shutdown). */
  private async finish(halted: string): Promise<RolloutRecord> {
    const { state, summary } = this.outcome(halted);
    const at = this.deps.now();
    if (halted && this.stopReason?.kind !== "storage") this.emit({ kind: "halted", ok: false, message: halted });
    if (state === "interrupted") {
      this.journal.write("interrupt", () => this.deps.history.interruptRollout(this.rollout.id, at, summary));
    } else {
      for (const s of this.steps.values()) if (s.status === "pending") s.status = "skipped";
      this.journal.write("skip pending", () => this.deps.history.skipPendingSteps(this.rollout.id));
      this.journal.write("finish", () => this.deps.history.finishRollout(this.rollout.id, state, summary, at));
    }
    const final = this.finalRecord(state, state === "interrupted" ? `${summary}; fleet resume ${this.rollout.id} finishes the hosts not done` : summary, at);
    this.log.info("rollout ended", { state, summary: final.summary });
    this.emit({ kind: "finished", ok: state === "succeeded", outcome: state, message: final.summary, rollout: final });
    if (this.shuttingDown) this.journal.abandon();
    await this.journal.drained();
    return final;
  }

  private outcome(halted: string): { state: Exclude<RolloutState, "running">; summary: string } {
    const steps = [...this.steps.values()];
    const failures = steps.filter((s) => s.status === "done" && !s.ok).length;
    const notDone = steps.filter((s) => s.status !== "done").length;
    const stop = this.stopReason;
    if (stop?.kind === "storage") return { state: "interrupted", summary: `stopped acting because the history could not be written (${stop.error.message}); every result the controller had was recorded once it could be` };
    if (stop?.kind === "shutdown" && !halted && notDone) return { state: "interrupted", summary: "the controller stopped during this rollout" };
    if (this.settings.kind === "rollback") {
      const ok = steps.filter((s) => s.status === "done" && s.ok).length;
      return { state: failures ? "failed" : "succeeded", summary: `restored ${ok} of ${steps.length} hosts to their previous file` };
    }
    if (halted) return { state: "failed", summary: `halted: ${halted}` };
    if (stop?.kind === "abort" && notDone) return { state: "aborted", summary: `aborted by ${stop.by}; ${notDone} hosts skipped` };
    return { state: "succeeded", summary: `all ${steps.length} hosts done, ${failures} failures (allowed ${this.settings.maxFailures})${unverifiedNote(steps)}` };
  }

  /** The record as this run knows it (the history may still be catching up). */
  private finalRecord(state: RolloutState, summary: string, at: number): RolloutRecord {
    const steps = [...this.steps.values()];
    return {
      ...this.rollout,
      state,
      summary,
      finishedAt: at,
      hostsTotal: steps.length,
      hostsOk: steps.filter((s) => s.status === "done" && s.ok).length,
      hostsFailed: steps.filter((s) => s.status === "done" && !s.ok).length,
      hostsSkipped: steps.filter((s) => s.status === "skipped").length,
      hostsUnverified: steps.filter((s) => s.outcome === "unverified").length,
    };
  }
}

/**
 * The linked rollback entry of a config rollout: created on its first restore,
 * one per run. A host already restored by an earlier entry of the same
 * rollout is not asked again.
 */
class RestoreEntry {
  private id: number | undefined;
  private opened = false;
  private readonly results = new Map<string, StepResult>();
  private readonly earlier = new Map<string, { entryId: number; result: StepRecord }>();

  constructor(
    private readonly rollout: RolloutRecord,
    private readonly settings: RolloutSettings,
    private readonly deps: RunDeps,
    private readonly journal: HistoryJournal,
  ) {
    if (settings.kind !== "config") return;
    for (const linked of deps.history.linkedRollouts(rollout.id).filter((r) => r.kind === "rollback")) {
      for (const s of deps.history.getSteps(linked.id)) if (s.status === "done") this.earlier.set(s.host, { entryId: linked.id, result: s });
    }
  }

  private get label(): string {
    return this.id === undefined ? "its rollback entry" : `rollout ${this.id}`;
  }

  async restore(host: string, sha: string): Promise<{ entry: string; result: StepResult }> {
    const earlier = this.earlier.get(host);
    if (earlier) return { entry: `rollout ${earlier.entryId}`, result: { ...earlier.result, outcome: earlier.result.outcome || "failed", reason: `already restored in rollout ${earlier.entryId}; not asked again` } };
    this.open();
    const { history, now } = this.deps;
    this.journal.write(`restore step ${host}`, () => {
      history.addSteps(this.id!, [{ host, batch: 0, canary: false, targetSha256: sha }]);
      history.markStepsRunning(this.id!, [host], now());
    });
    const result = await this.deps.actions.restore(host, {
      requestId: restoreRequestIdFor(history.instanceId, this.rollout.id, host),
      service: this.settings.service,
      path: this.settings.configPath!,
      sha256: sha,
      allowRestart: this.settings.allowRestart,
    });
    this.results.set(host, result);
    const at = now();
    this.journal.write(`restore result ${host}`, () => history.finishSteps(this.id!, [{ host, result }], at));
    return { entry: this.label, result };
  }

  /** The entry's own settings are recorded with it: a resume restores, it never pushes. */
  private open() {
    if (this.opened) return;
    this.opened = true;
    const restoreSettings: RolloutSettings = { kind: "rollback", service: this.settings.service, configPath: this.settings.configPath, maxFailures: 0, bakeMs: 0, pauseMs: 0, allowRestart: this.settings.allowRestart, policyText: "restore each host's previous version" };
    const at = this.deps.now();
    this.journal.write("rollback entry", () => {
      this.id = this.deps.history.createRollout(
        {
          kind: "rollback",
          parentId: this.rollout.id,
          group: this.rollout.group,
          service: this.rollout.service,
          reason: `restore previous ${this.settings.configPath} after rollout ${this.rollout.id}`,
          requestedBy: this.rollout.requestedBy,
          requestedFrom: "controller",
          policy: JSON.stringify(restoreSettings),
          allowRestart: this.settings.allowRestart,
          configPath: this.settings.configPath,
          steps: [],
        },
        at,
      ).id;
    });
  }

  /** Ends this run's entry: succeeded when every restore worked. */
  close(): void {
    if (!this.opened) return;
    const bad = [...this.results.values()].filter((r) => !r.ok).length;
    const total = this.results.size;
    const at = this.deps.now();
    this.journal.write("rollback entry end", () => this.deps.history.finishRollout(this.id!, bad ? "failed" : "succeeded", `restored ${total - bad} of ${total} hosts to their previous file`, at));
  }
}

interface Batch {
  index: number;
  canary: boolean;
  steps: StepRecord[];
}

function groupByBatch(steps: StepRecord[]): Batch[] {
  const map = new Map<number, StepRecord[]>();
  for (const s of steps) map.set(s.batch, [...(map.get(s.batch) ?? []), s]);
  return [...map.entries()].sort((a, b) => a[0] - b[0]).map(([index, list]) => ({ index, canary: list.some((s) => s.canary), steps: list }));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** An unverified reload is a failure unless the rollout accepts unverified reloads; the outcome word stays. */
function accepting<R extends StepResult>(result: R, settings: RolloutSettings): R {
  if (result.ok || result.outcome !== "unverified" || !settings.acceptUnverified) return result;
  return { ...result, ok: true, reason: `${result.reason} (accepted: accept_unverified)` };
}

function unverifiedNote(steps: StepRecord[]): string {
  const n = steps.filter((s) => s.outcome === "unverified").length;
  return n ? `; ${n} unverified (accepted without generation evidence)` : "";
}

// One rollout being executed: batches in order, hosts of a batch in parallel,
// every transition recorded as it happens (through a HistoryJournal, so a
// failed write stops the rollout instead of losing what it learned). A
// rollback entry runs as a restore of the versions recorded on its steps.
import { formatDuration } from "../../common/duration.js";
import type { Logger } from "../../common/logger.js";
import { plural } from "../../common/plural.js";
import { mergeStepFiles, type HistoryStore, type RolloutRecord, type RolloutState, type StepRecord, type StepResult } from "../history/history-store.js";
import { requestIdFor, restoreRequestIdFor, type AgentActions, type PushFile, type RestoreFile } from "./agent-actions.js";
import { answerMatches } from "./answer-matches.js";
import { ApprovalGate } from "./approval-gate.js";
import { HistoryJournal } from "./history-journal.js";
import { shouldHalt } from "./plan-rollout.js";
import { preflightWant, runPreflight, type PreflightReport } from "./preflight.js";
import type { RolloutEvent, RolloutSettings } from "./rollout-executor.js";
import { abortableSleep } from "../../common/abortable-sleep.js";

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
  private readonly gate = new ApprovalGate();
  /** `approve` and no host past the canary batch has been started yet (a resume that already passed the gate does not ask again). */
  private approvalPending: boolean;
  private preflightReport: string | undefined;

  constructor(
    private readonly rollout: RolloutRecord,
    private readonly settings: RolloutSettings,
    private readonly deps: RunDeps,
    settled: { host: string; result: StepResult }[] = [],
    private readonly allowPreflightFailures = false,
  ) {
    this.log = deps.logger.child({ rollout: rollout.id, group: rollout.group });
    this.journal = new HistoryJournal({
      logger: this.log,
      onFault: (error) => this.stop({ kind: "storage", error }),
      firstRetryMs: deps.journalRetryMs?.first,
      maxRetryMs: deps.journalRetryMs?.max,
      transaction: (work) => deps.history.transaction(work),
    });
    this.steps = new Map(deps.history.getSteps(rollout.id).map((s) => [s.host, s]));
    this.restores = new RestoreEntry(rollout, settings, deps, this.journal);
    const all = [...this.steps.values()];
    this.approvalPending = settings.approve === true && settings.kind !== "rollback" && all.some((s) => s.canary) && all.every((s) => s.canary || s.status === "pending");
    for (const s of settled) this.recordResult(s.host, s.result);
  }

  get id(): number {
    return this.rollout.id;
  }

  get stopped(): StopReason | undefined {
    return this.stopReason;
  }

  get waitingForApproval(): boolean {
    return this.gate.isWaiting;
  }

  /** fleet promote: false when the run is not waiting at its gate. */
  approve(by: string): boolean {
    return this.gate.approve(by);
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
    if (event.host && !event.hostName) event.hostName = this.steps.get(event.host)?.hostName || event.host;
    if (fields.kind !== "finished") {
      const text = event.message + (event.outcome ? ` [${event.outcome}]` : "");
      // The history shows hosts by name; the step keeps the address.
      this.journal.write(`event ${fields.kind}`, () => this.deps.history.addEvent(this.rollout.id, fields.kind, event.hostName || event.host, text, at));
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
    const todo = steps.filter((s) => s.status !== "done");
    const todoBatches = batches.filter((b) => b.steps.some((s) => s.status !== "done")).length;
    const hosts = todo.length === steps.length ? plural(steps.length, "host") : `${todo.length} of ${plural(steps.length, "host")} remaining`;
    this.emit({ kind: "started", message: `${this.rollout.group}: ${hosts} in ${plural(todoBatches, "batch", "batches")} (${this.settings.policyText})` });
    this.log.info("rollout running", { kind: this.settings.kind, hosts: todo.length, batches: todoBatches });
    const refused = this.settings.kind === "rollback" ? "" : await this.preflight(todo);
    if (refused) return this.finish("", refused);
    const halted = this.settings.kind === "rollback" ? await this.runRestores() : await this.runBatches(batches);
    if (halted && this.settings.kind === "config" && this.settings.rollbackAll && this.stopReason?.kind !== "storage") await this.restoreDoneHosts();
    this.restores.close();
    return this.finish(halted);
  }

  /** Asks every host not done before touching any; returns why the rollout is refused, or "". Tolerated failures are recorded as failed steps. */
  private async preflight(todo: StepRecord[]): Promise<string> {
    if (todo.length === 0) return "";
    const want = preflightWant(this.settings);
    const alreadyFailed = [...this.steps.values()].filter((s) => s.status === "done" && !s.ok).length;
    const rule = { maxFailures: this.settings.maxFailures, allowFailures: this.allowPreflightFailures, canaries: todo.filter((s) => s.canary).map((s) => s.host), alreadyFailed };
    const nameOf = (h: string) => this.steps.get(h)?.hostName || h;
    const report = await runPreflight(todo.map((s) => s.host), (h) => this.deps.actions.inspect(h, want.service), want, rule, nameOf);
    this.preflightReport = JSON.stringify(report);
    this.journal.write("preflight", () => this.deps.history.recordPreflight(this.rollout.id, this.preflightReport!));
    for (const f of report.failed) this.emit({ kind: "preflight_failed", host: f.host, outcome: f.outcome, ok: false, message: f.problem });
    this.emit({ kind: "preflight", ok: !report.refused, outcome: preflightOutcome(report), message: report.summary });
    if (report.refused) return `refused by the preflight: ${report.summary}`;
    for (const f of report.failed) {
      const step = this.steps.get(f.host)!;
      this.recordResult(f.host, { outcome: f.outcome, ok: false, reason: `preflight: ${f.problem}`, evidence: "", probesSent: 0, probesFailed: 0, probesRefused: 0 });
      this.emit({ kind: "host_finished", host: f.host, batch: step.batch, canary: step.canary, outcome: f.outcome, ok: false, message: `preflight: ${f.problem}` });
    }
    return "";
  }

  /** The approval gate; returns who approved, or "" when the rollout was stopped while waiting. */
  private async awaitApproval(): Promise<string> {
    const rest = [...this.steps.values()].filter((s) => s.status !== "done");
    const batches = new Set(rest.map((s) => s.batch)).size;
    const baked = this.settings.bakeMs > 0 ? ` and baked ${formatDuration(this.settings.bakeMs)}` : "";
    const id = this.rollout.id;
    this.emit({ kind: "waiting_for_approval", message: `waiting for approval: the canary batch passed${baked}; fleet promote ${id} goes on with ${plural(rest.length, "host")} in ${plural(batches, "batch", "batches")}, fleet abort ${id} leaves them untouched` });
    this.log.info("rollout waiting for approval", { hosts: rest.length });
    const by = await this.gate.wait(this.stopSignal.signal);
    if (!by) return "";
    this.approvalPending = false;
    this.emit({ kind: "approved", message: `approved by ${by}; going on with ${plural(rest.length, "host")}` });
    return by;
  }

  /** Returns why the rollout halted, or "". */
  private async runBatches(batches: Batch[]): Promise<string> {
    const recorded = [...this.steps.values()].filter((s) => s.status === "done" && !s.ok);
    let failures = recorded.length;
    // A resume first applies the halt rule to what is already recorded.
    const canaryRecorded = recorded.filter((s) => s.canary).length;
    if (shouldHalt(failures, this.settings.maxFailures, canaryRecorded > 0)) {
      return canaryRecorded ? `canary failed (${canaryRecorded} recorded before this run); no other host was touched` : `${plural(failures, "recorded failure")} exceed${failures === 1 ? "s" : ""} the allowed ${this.settings.maxFailures}`;
    }
    let first = true;
    for (const batch of batches) {
      const todo = batch.steps.filter((s) => s.status === "pending" || s.status === "running");
      if (todo.length === 0) continue;
      if (this.stopReason) break;
      if (this.approvalPending && !batch.canary && !(await this.awaitApproval())) break;
      if (!first && this.settings.pauseMs > 0) {
        this.emit({ kind: "pause", batch: batch.index, message: `pausing ${this.settings.pauseMs}ms before batch ${batch.index}` });
        await abortableSleep(this.settings.pauseMs, this.stopSignal.signal);
        if (this.stopReason) break;
      }
      first = false;
      // A batch's history writes are committed together (see HistoryJournal.group).
      const results = await this.journal.group(() => this.runBatch(batch, todo));
      const failed = results.filter((r) => !r.result.ok);
      failures += failed.length;
      const canaryFailed = batch.canary && failed.length > 0;
      if (shouldHalt(failures, this.settings.maxFailures, canaryFailed)) {
        // The first failure's own words, so the summary says what went wrong.
        const first = `${failed[0]?.host}: ${failed[0]?.result.outcome} — ${failed[0]?.result.reason}`;
        return canaryFailed ? `canary failed (${failed.length} of ${todo.length}; ${first}); no other host was touched` : `${plural(failures, "failure")} exceed${failures === 1 ? "s" : ""} the allowed ${this.settings.maxFailures} (${first})`;
      }
      if (batch.canary && this.settings.bakeMs > 0 && !this.stopReason) {
        const bad = await this.bake(batch.steps.map((s) => s.host));
        if (bad) return `canary unhealthy while baking: ${bad}`;
      }
    }
    return "";
  }

  private async runBatch(batch: Batch, todo: StepRecord[]): Promise<{ host: string; result: StepResult }[]> {
    const { settings } = this;
    this.emit({ kind: "batch", batch: batch.index, canary: batch.canary, message: `${batch.canary ? "canary " : ""}batch ${batch.index}: ${todo.map((s) => s.hostName || s.host).join(", ")}` });
    const inDoubt = new Set(todo.filter((s) => s.status === "running").map((s) => s.host));
    this.markRunning(todo.map((s) => s.host));
    const what = settings.kind === "config" ? `pushing ${settings.configPath} to ${settings.service}` : `reloading ${settings.service}`;
    for (const s of todo) {
      const doubt = inDoubt.has(s.host) ? " (in doubt after an interruption: asking again with the same request id, so an agent that did it replays its result)" : "";
      this.emit({ kind: "host_started", host: s.host, batch: batch.index, canary: batch.canary, message: what + doubt });
    }
    // Write-ahead: the steps are recorded running (in doubt after a crash) before any agent is asked.
    this.journal.commitHeld();
    return Promise.all(
      todo.map(async (s) => {
        const result = settings.kind === "config" ? await this.pushHost(s.host) : await this.reloadHost(s.host);
        this.recordResult(s.host, result);
        this.emit({ kind: "host_finished", host: s.host, batch: batch.index, canary: batch.canary, outcome: result.outcome, ok: result.ok, message: result.reason });
        return { host: s.host, result };
      }),
    );
  }

  private async reloadHost(host: string): Promise<StepResult> {
    const { settings } = this;
    return accepting(await this.deps.actions.reload(host, { requestId: this.requestId(host), service: settings.service, allowRestart: settings.allowRestart }), settings);
  }

  /**
   * Pushes the host's file set (checked together, one reload); a host whose
   * reload fails after the install gets its whole previous set back at once
   * (even when the history cannot be written). What it installed becomes the
   * host's desired state.
   */
  private async pushHost(host: string): Promise<StepResult> {
    const { settings } = this;
    const files: PushFile[] = [];
    for (const f of pushTargets(this.steps.get(host)!, settings)) {
      const content = this.deps.history.getConfigVersion(f.target);
      if (!content) return { ...NOTHING, outcome: "failed", reason: `config version ${f.target.slice(0, 12)} of ${f.path} is missing from the history; nothing pushed` };
      files.push({ path: f.path, content, sha256: f.target });
    }
    const diff = await this.deps.actions.diff(host, settings.service, files);
    const { installed, ...pushed } = await this.deps.actions.push(host, { requestId: this.requestId(host), service: settings.service, files, allowRestart: settings.allowRestart });
    const result = accepting(answerMatches({ ...pushed, diff }, files, "pushed"), settings);
    // The desired state is what the controller pushed, never what an agent says it installed.
    if (result.ok) this.recordDesired(host, files.map((f) => ({ path: f.path, sha256: f.sha256 })));
    // Only paths that were pushed are ever restored, whatever else the answer names.
    const pushedPaths = new Set(files.map((f) => f.path));
    const previous = (result.files ?? []).filter((f) => pushedPaths.has(f.path) && f.previous !== f.new).map((f) => ({ path: f.path, sha256: f.previous }));
    if (!result.ok && installed && previous.length) await this.restoreHost(host, previous, `its reload was ${result.outcome}`);
    return result;
  }

  private async restoreHost(host: string, files: RestoreFile[], why: string): Promise<void> {
    const what = describeRestore(files);
    this.emit({ kind: "rollback_started", host, message: `restoring ${what} (${why})` });
    const r = await this.restores.restore(host, files, this.steps.get(host)?.hostName ?? "");
    if (r.result.ok && !r.earlier) this.recordDesired(host, files);
    this.emit({ kind: "rollback", host, outcome: r.result.outcome, ok: r.result.ok, message: `restored ${what} (${why}) in ${r.entry}: ${r.result.reason}` });
  }

  /** --rollback-all after a halt: hosts that took the new set go back to their previous one. */
  private async restoreDoneHosts(): Promise<void> {
    for (const s of [...this.steps.values()].filter((x) => x.status === "done" && x.ok)) {
      const changed = changedFiles(s, this.settings);
      if (changed.length) await this.restoreHost(s.host, changed, "--rollback-all after the halt");
    }
  }

  private recordDesired(host: string, files: RestoreFile[]): void {
    if (files.length === 0) return;
    const at = this.deps.now();
    this.journal.write(`desired files of ${host}`, () => this.deps.history.setDesiredFiles(host, this.settings.service, files, this.rollout.id, at));
  }

  /** A rollback entry of its own: each host not done gets the version recorded on its step. */
  private async runRestores(): Promise<string> {
    const todo = [...this.steps.values()].filter((s) => s.status !== "done");
    if (todo.length === 0) return "";
    this.emit({ kind: "batch", batch: 0, message: `restoring ${plural(todo.length, "host")} to their previous ${this.settings.configPath}` });
    this.markRunning(todo.map((s) => s.host));
    await Promise.all(
      todo.map(async (s) => {
        const files = restoreTargets(s, this.settings);
        this.emit({ kind: "host_started", host: s.host, batch: 0, message: `restoring ${describeRestore(files)} (the same request id as the interrupted restore)` });
        const result = await this.deps.actions.restore(s.host, {
          requestId: restoreRequestIdFor(this.deps.history.instanceId, this.rollout.parentId ?? this.rollout.id, s.host),
          service: this.settings.service,
          files,
          allowRestart: this.settings.allowRestart,
        });
        if (result.ok) this.recordDesired(s.host, files);
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
      await abortableSleep(Math.min(this.deps.bakeProbeEveryMs, Math.max(0, until - this.deps.now())), this.stopSignal.signal);
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
    const step = this.steps.get(host)!;
    const files = step.files;
    // Field by field rather than through a spread copy: one object less per host.
    Object.assign(step, result);
    step.status = "done";
    step.finishedAt = at;
    step.previousSha256 = result.previousSha256 ?? "";
    step.newSha256 = result.newSha256 ?? "";
    step.files = mergeStepFiles(files, result.files);
    step.diff = result.diff ?? "";
    this.journal.write(`result of ${host}`, () => this.deps.history.finishSteps(this.rollout.id, [{ host, result }], at));
  }

  /** Records how the rollout ended; resolves once that is written (or given up at shutdown). */
  private async finish(halted: string, refused = ""): Promise<RolloutRecord> {
    const { state, summary } = refused ? { state: "failed" as const, summary: refused } : this.outcome(halted);
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
      return { state: failures ? "failed" : "succeeded", summary: `restored ${ok} of ${plural(steps.length, "host")} to their previous file` };
    }
    if (halted) return { state: "failed", summary: `halted: ${halted}` };
    if (stop?.kind === "abort" && notDone) return { state: "aborted", summary: `aborted by ${stop.by}; ${plural(notDone, "host")} skipped` };
    const all = steps.length === 1 ? "the 1 host" : `all ${steps.length} hosts`;
    return { state: "succeeded", summary: `${all} done, ${plural(failures, "failure")} (allowed ${this.settings.maxFailures})${unverifiedNote(steps)}` };
  }

  /** The record as this run knows it (the history may still be catching up). */
  private finalRecord(state: RolloutState, summary: string, at: number): RolloutRecord {
    const steps = [...this.steps.values()];
    return {
      ...this.rollout,
      state,
      summary,
      finishedAt: at,
      preflight: this.preflightReport ?? this.rollout.preflight,
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

  /** Puts `files` back on `host` (one restore, one reload), recorded as a step of this run's rollback entry. */
  async restore(host: string, files: RestoreFile[], hostName: string): Promise<{ entry: string; result: StepResult; earlier: boolean }> {
    const earlier = this.earlier.get(host);
    if (earlier) return { entry: `rollout ${earlier.entryId}`, earlier: true, result: { ...earlier.result, files: undefined, outcome: earlier.result.outcome || "failed", reason: `already restored in rollout ${earlier.entryId}; not asked again` } };
    this.open();
    const { history, now } = this.deps;
    // Recorded before the agent is asked: a resumed entry restores exactly these versions.
    const step = { host, hostName, batch: 0, canary: false, targetSha256: files.length === 1 ? files[0]!.sha256 : "", files: files.map((f) => ({ path: f.path, target: f.sha256 })) };
    this.journal.write(`restore step ${host}`, () => {
      history.addSteps(this.id!, [step]);
      history.markStepsRunning(this.id!, [host], now());
    });
    // Write-ahead: the entry and the version it restores are recorded before the agent is asked.
    this.journal.commitHeld();
    const result = await this.deps.actions.restore(host, {
      requestId: restoreRequestIdFor(history.instanceId, this.rollout.id, host),
      service: this.settings.service,
      files,
      allowRestart: this.settings.allowRestart,
    });
    this.results.set(host, result);
    const at = now();
    this.journal.write(`restore result ${host}`, () => history.finishSteps(this.id!, [{ host, result }], at));
    return { entry: this.label, result, earlier: false };
  }

  /** The entry's own settings are recorded with it: a resume restores, it never pushes. */
  private open() {
    if (this.opened) return;
    this.opened = true;
    const restoreSettings: RolloutSettings = { kind: "rollback", service: this.settings.service, configPath: this.settings.configPath, files: this.settings.files, maxFailures: 0, bakeMs: 0, pauseMs: 0, allowRestart: this.settings.allowRestart, policyText: "restore each host's previous version" };
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
    this.journal.write("rollback entry end", () => this.deps.history.finishRollout(this.id!, bad ? "failed" : "succeeded", `restored ${total - bad} of ${plural(total, "host")} to their previous file`, at));
  }
}

interface Batch {
  index: number;
  canary: boolean;
  steps: StepRecord[];
}

function groupByBatch(steps: StepRecord[]): Batch[] {
  const map = new Map<number, StepRecord[]>();
  for (const s of steps) {
    const list = map.get(s.batch);
    if (list) list.push(s);
    else map.set(s.batch, [s]);
  }
  return [...map.entries()].sort((a, b) => a[0] - b[0]).map(([index, list]) => ({ index, canary: list.some((s) => s.canary), steps: list }));
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

const NOTHING: StepResult = { outcome: "failed", ok: false, reason: "", evidence: "", probesSent: 0, probesFailed: 0, probesRefused: 0 };

/** What a config step pushes: its recorded set, or (rollouts recorded before sets) the rollout's one file. */
function pushTargets(step: StepRecord, settings: RolloutSettings): { path: string; target: string }[] {
  if (step.files.length) return step.files;
  return [{ path: settings.configPath!, target: settings.configSha256! }];
}

/** What a rollback step puts back: its recorded set, or its one recorded version. */
function restoreTargets(step: StepRecord, settings: RolloutSettings): RestoreFile[] {
  if (step.files.length) return step.files.map((f) => ({ path: f.path, sha256: f.target }));
  return [{ path: settings.configPath!, sha256: step.targetSha256 }];
}

/** The files a done step changed, with the version each had before. */
function changedFiles(step: StepRecord, settings: RolloutSettings): RestoreFile[] {
  const reported = step.files.filter((f) => f.previous !== undefined && f.new !== undefined);
  if (reported.length) return reported.filter((f) => f.previous !== f.new).map((f) => ({ path: f.path, sha256: f.previous! }));
  return step.previousSha256 && step.previousSha256 !== step.newSha256 ? [{ path: settings.configPath!, sha256: step.previousSha256 }] : [];
}

function describeRestore(files: RestoreFile[]): string {
  if (files.length === 1 && files[0]!.sha256) return `${files[0]!.sha256.slice(0, 12)} of ${files[0]!.path}`;
  return files.map((f) => `${f.path} to ${f.sha256 ? f.sha256.slice(0, 12) : "absent (it did not exist)"}`).join(", ");
}

function preflightOutcome(r: PreflightReport): string {
  return r.refused ? "refused" : r.tolerated ? "tolerated" : "passed";
}

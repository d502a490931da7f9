// Runs a planned rollout: batches in order, hosts of a batch in parallel, every
// transition recorded as it happens. Halts when failures exceed the allowance
// (any canary failure halts), stops after the in-flight batch on abort, and
// resumes from the recorded steps without reloading a finished host again.
import { createHash } from "node:crypto";
import { AgentCallError, type AgentClient } from "../../common/agent-client.js";
import type { Logger } from "../../common/logger.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { ConfigChange, type ConfigChangeResponse, type ReloadResponse } from "../../proto/gen/fleet/agent/v1/agent.js";
import type { HistoryStore, RolloutRecord, StepRecord, StepResult } from "../history/history-store.js";
import { shouldHalt } from "./plan-rollout.js";

export type AgentClientFactory = (address: string) => AgentClient;

/** What a rollout needs to run, stored with it so a resume runs the same way. */
export interface RolloutSettings {
  kind: "reload" | "config";
  service: string;
  /** Config rollouts: destination path and the content's hash (content is in the history). */
  configPath?: string;
  configSha256?: string;
  /** Config rollouts: when halted, also restore hosts already done. */
  rollbackAll?: boolean;
  maxFailures: number;
  bakeMs: number;
  pauseMs: number;
  allowRestart: boolean;
  /** Count `unverified` reloads as success (absent in rollouts recorded before it existed). */
  acceptUnverified?: boolean;
  /** The policy as given, for the record. */
  policyText: string;
}

export interface RolloutEvent {
  rolloutId: number;
  kind: "started" | "batch" | "host_started" | "host_finished" | "rollback" | "bake" | "pause" | "halted" | "abort_requested" | "finished";
  host: string;
  batch: number;
  canary: boolean;
  outcome: string;
  ok: boolean;
  message: string;
  at: number;
  /** Set on `finished`. */
  rollout?: RolloutRecord;
}

export interface ExecutorDeps {
  history: HistoryStore;
  agents: AgentClientFactory;
  logger: Logger;
  reloadDeadlineMs: number;
  probeDeadlineMs: number;
  /** How often canaries are probed while baking. */
  bakeProbeEveryMs?: number;
  now?: () => number;
}

interface Running {
  abort: AbortController;
  /** Set on controller shutdown: stop like an abort but leave the rollout resumable. */
  interrupting: boolean;
  listeners: Set<(e: RolloutEvent) => void>;
  done: Promise<RolloutRecord>;
}

export class RolloutExecutor {
  private readonly running = new Map<number, Running>();
  private readonly now: () => number;

  constructor(private readonly deps: ExecutorDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Starts executing a rollout already recorded (new or resumed); resolves when it ends. */
  run(rollout: RolloutRecord, settings: RolloutSettings, listener?: (e: RolloutEvent) => void): Promise<RolloutRecord> {
    const entry: Running = { abort: new AbortController(), interrupting: false, listeners: new Set(listener ? [listener] : []), done: Promise.resolve(rollout) };
    this.running.set(rollout.id, entry);
    // Deferred a tick so the caller can announce the rollout before its first event.
    entry.done = Promise.resolve()
      .then(() => this.execute(rollout, settings, entry))
      .finally(() => this.running.delete(rollout.id));
    return entry.done;
  }

  isRunning(id: number): boolean {
    return this.running.has(id);
  }

  subscribe(id: number, listener: (e: RolloutEvent) => void): (() => void) | undefined {
    const r = this.running.get(id);
    if (!r) return undefined;
    r.listeners.add(listener);
    return () => r.listeners.delete(listener);
  }

  /** Requests an abort: in-flight hosts finish, nothing new starts. */
  abort(id: number, by: string): boolean {
    const r = this.running.get(id);
    if (!r) return false;
    if (!r.abort.signal.aborted) {
      r.abort.abort();
      this.emit(id, r, { kind: "abort_requested", message: `abort requested by ${by}; in-flight hosts finish, no new host starts` });
    }
    return true;
  }

  /** Controller shutdown: in-flight hosts finish, then every rollout is left interrupted. */
  async interruptAll(): Promise<void> {
    for (const r of this.running.values()) {
      r.interrupting = true;
      r.abort.abort();
    }
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  private emit(id: number, r: Running, e: Partial<RolloutEvent> & { kind: RolloutEvent["kind"]; message: string }) {
    const at = this.now();
    const event: RolloutEvent = { rolloutId: id, host: "", batch: -1, canary: false, outcome: "", ok: true, at, ...e };
    if (e.kind !== "finished") this.deps.history.addEvent(id, e.kind, event.host, event.message + (event.outcome ? ` [${event.outcome}]` : ""), at);
    for (const l of r.listeners) {
      try {
        l(event);
      } catch (err) {
        this.deps.logger.warn("event listener failed", { error: err });
      }
    }
  }

  private async execute(rollout: RolloutRecord, settings: RolloutSettings, r: Running): Promise<RolloutRecord> {
    const { history } = this.deps;
    const log = this.deps.logger.child({ rollout: rollout.id, group: rollout.group });
    const steps = history.getSteps(rollout.id);
    const batches = groupByBatch(steps);
    let failures = steps.filter((s) => s.status === "done" && !s.ok).length;
    let halted = "";
    let first = true;
    this.emit(rollout.id, r, { kind: "started", message: `${rollout.group}: ${steps.length} hosts in ${batches.length} batches (${settings.policyText})` });
    log.info("rollout running", { hosts: steps.length, batches: batches.length });

    try {
      for (const batch of batches) {
        const todo = batch.steps.filter((s) => s.status === "pending" || s.status === "running");
        if (todo.length === 0) continue;
        if (r.abort.signal.aborted) break;
        if (!first && settings.pauseMs > 0) {
          this.emit(rollout.id, r, { kind: "pause", batch: batch.index, message: `pausing ${settings.pauseMs}ms before batch ${batch.index}` });
          await sleep(settings.pauseMs, r.abort.signal);
          if (r.abort.signal.aborted) break;
        }
        first = false;
        this.emit(rollout.id, r, { kind: "batch", batch: batch.index, canary: batch.canary, message: `${batch.canary ? "canary " : ""}batch ${batch.index}: ${todo.map((s) => s.host).join(", ")}` });
        history.markStepsRunning(rollout.id, todo.map((s) => s.host), this.now());
        for (const s of todo) this.emit(rollout.id, r, { kind: "host_started", host: s.host, batch: batch.index, canary: batch.canary, message: settings.kind === "config" ? `pushing ${settings.configPath} to ${settings.service}` : `reloading ${settings.service}` });

        const results = await Promise.all(
          todo.map(async (s) => {
            const result = accepting(settings.kind === "config" ? await this.pushHost(rollout, settings, s.host, r) : await this.reloadHost(rollout, settings, s.host), settings);
            history.finishSteps(rollout.id, [{ host: s.host, result }], this.now());
            this.emit(rollout.id, r, { kind: "host_finished", host: s.host, batch: batch.index, canary: batch.canary, outcome: result.outcome, ok: result.ok, message: result.reason });
            return result;
          }),
        );
        const failed = results.filter((x) => !x.ok).length;
        failures += failed;
        if (shouldHalt(failures, settings.maxFailures, batch.canary && failed > 0)) {
          halted = batch.canary && failed > 0
            ? `canary failed (${failed} of ${todo.length}); no other host was touched`
            : `${failures} failures exceed the allowed ${settings.maxFailures}`;
          break;
        }
        if (batch.canary && settings.bakeMs > 0) {
          const bad = await this.bake(rollout, settings, batch.steps.map((s) => s.host), r);
          if (bad) {
            halted = `canary unhealthy while baking: ${bad}`;
            break;
          }
        }
      }
    } catch (err) {
      // Recording failed (disk full, ...): stop, and leave the rollout interrupted so it can be resumed.
      log.error("rollout stopped by an internal error; it is left interrupted", { error: err });
      r.interrupting = true;
    }

    if (halted && settings.kind === "config" && settings.rollbackAll) {
      const done = history.getSteps(rollout.id).filter((s) => s.status === "done" && s.ok && s.previousSha256 && s.previousSha256 !== s.newSha256);
      for (const s of done) await this.rollbackHost(rollout, settings, s.host, s.previousSha256, "--rollback-all after the halt", r);
    }
    if (this.linked.has(rollout.id)) {
      const linkedId = this.linked.get(rollout.id)!;
      this.linked.delete(rollout.id);
      const steps = history.getSteps(linkedId);
      const bad = steps.filter((s) => !s.ok).length;
      history.finishRollout(linkedId, bad ? "failed" : "succeeded", `restored ${steps.length - bad} of ${steps.length} hosts to their previous file`, this.now());
    }
    if (r.interrupting) {
      const final = history.interruptRollout(rollout.id, this.now());
      log.info("rollout interrupted by controller shutdown");
      this.emit(rollout.id, r, { kind: "finished", ok: false, outcome: final.state, message: final.summary, rollout: final });
      return final;
    }
    const skipped = history.skipPendingSteps(rollout.id);
    const aborted = r.abort.signal.aborted && !halted;
    if (halted) this.emit(rollout.id, r, { kind: "halted", ok: false, message: `${halted}${skipped.length ? `; skipped ${skipped.length} hosts` : ""}` });
    const state = aborted ? "aborted" : halted ? "failed" : "succeeded";
    const summary = aborted
      ? `aborted; ${skipped.length} hosts skipped`
      : halted
        ? `halted: ${halted}`
        : `all ${steps.length} hosts done, ${failures} failures (allowed ${settings.maxFailures})${unverifiedNote(history.getSteps(rollout.id))}`;
    const final = history.finishRollout(rollout.id, state, summary, this.now());
    log.info("rollout finished", { state, failures, skipped: skipped.length });
    this.emit(rollout.id, r, { kind: "finished", ok: state === "succeeded", outcome: state, message: summary, rollout: final });
    return final;
  }

  private async reloadHost(rollout: RolloutRecord, settings: RolloutSettings, host: string): Promise<StepResult> {
    const client = this.deps.agents(host);
    try {
      const res = await client.reload(
        { requestId: requestIdFor(this.deps.history.instanceId, rollout.id, host), service: settings.service, allowRestart: settings.allowRestart, generationTimeoutMs: 0, healthyForMs: 0 },
        { deadlineMs: this.deps.reloadDeadlineMs },
      );
      return fromResponse(res);
    } catch (err) {
      if (err instanceof AgentCallError) return failedCall(err);
      throw err;
    }
  }

  private readonly linked = new Map<number, number>();

  /** Pushes the rollout's file; a host whose reload fails after install is restored at once. */
  private async pushHost(rollout: RolloutRecord, settings: RolloutSettings, host: string, r: Running): Promise<StepResult> {
    const content = this.deps.history.getConfigVersion(settings.configSha256!);
    if (!content) throw new Error(`config version ${settings.configSha256} is missing from the history`);
    let res: ConfigChangeResponse;
    try {
      res = await this.deps.agents(host).pushConfig(
        { requestId: requestIdFor(this.deps.history.instanceId, rollout.id, host), service: settings.service, path: settings.configPath!, content, sha256: settings.configSha256!, allowRestart: settings.allowRestart },
        { deadlineMs: this.deps.reloadDeadlineMs },
      );
    } catch (err) {
      if (err instanceof AgentCallError) return failedCall(err);
      throw err;
    }
    const result = accepting(fromConfigChange(res), settings);
    if (!result.ok && res.change === ConfigChange.CONFIG_CHANGE_INSTALLED && res.previousSha256) {
      await this.rollbackHost(rollout, settings, host, res.previousSha256, `its reload was ${result.outcome}`, r);
    }
    return result;
  }

  /** Restores a host's previous file and reloads; recorded in the rollout's linked rollback entry. */
  private async rollbackHost(rollout: RolloutRecord, settings: RolloutSettings, host: string, sha: string, why: string, r: Running): Promise<void> {
    const { history } = this.deps;
    let linkedId = this.linked.get(rollout.id);
    if (linkedId === undefined) {
      linkedId = history.createRollout(
        {
          kind: "rollback",
          parentId: rollout.id,
          group: rollout.group,
          service: rollout.service,
          reason: `restore previous ${settings.configPath} after rollout ${rollout.id}`,
          requestedBy: rollout.requestedBy,
          requestedFrom: "controller",
          policy: rollout.policy,
          allowRestart: settings.allowRestart,
          configPath: settings.configPath,
          steps: [],
        },
        this.now(),
      ).id;
      this.linked.set(rollout.id, linkedId);
    }
    history.addSteps(linkedId, [{ host, batch: 0, canary: false }]);
    history.markStepsRunning(linkedId, [host], this.now());
    let result: StepResult;
    try {
      const res = await this.deps.agents(host).rollbackConfig(
        { requestId: `${requestIdFor(history.instanceId, rollout.id, host)}-rb`, service: settings.service, path: settings.configPath!, sha256: sha, allowRestart: settings.allowRestart },
        { deadlineMs: this.deps.reloadDeadlineMs },
      );
      result = fromConfigChange(res);
    } catch (err) {
      if (!(err instanceof AgentCallError)) throw err;
      result = failedCall(err);
    }
    history.finishSteps(linkedId, [{ host, result }], this.now());
    this.emit(rollout.id, r, { kind: "rollback", host, outcome: result.outcome, ok: result.ok, message: `restored ${sha.slice(0, 12)} (${why}) in rollout ${linkedId}: ${result.reason}` });
  }

  /** Probes the canaries for `bakeMs`; returns why one went bad, or "". */
  private async bake(rollout: RolloutRecord, settings: RolloutSettings, hosts: string[], r: Running): Promise<string> {
    this.emit(rollout.id, r, { kind: "bake", message: `baking ${settings.bakeMs}ms: probing ${hosts.join(", ")}` });
    const until = this.now() + settings.bakeMs;
    while (this.now() < until && !r.abort.signal.aborted) {
      for (const host of hosts) {
        try {
          const p = await this.deps.agents(host).probe(settings.service, { deadlineMs: this.deps.probeDeadlineMs });
          if (!p.healthy) return `${host}: ${p.results.filter((x) => !x.ok).map((x) => `${x.probe}: ${x.detail}`).join("; ")}`;
        } catch (err) {
          return `${host}: ${(err as Error).message}`;
        }
      }
      await sleep(Math.min(this.deps.bakeProbeEveryMs ?? 1000, Math.max(0, until - this.now())), r.abort.signal);
    }
    return "";
  }
}

/** Deterministic per (history, rollout, host): a resumed rollout re-asks with the same id, so an agent that already did it replays instead of reloading twice. */
export function requestIdFor(instanceId: string, rolloutId: number, host: string): string {
  return `fleet-${instanceId}-r${rolloutId}-${createHash("sha256").update(host).digest("hex").slice(0, 16)}`;
}

function fromResponse(res: ReloadResponse): StepResult {
  const p = res.evidence?.probes;
  return {
    outcome: outcomeToWord(res.outcome) as StepResult["outcome"],
    ok: res.ok,
    reason: res.reason,
    evidence: JSON.stringify({ ...res.evidence, replayed: res.replayed }),
    probesSent: p?.sent ?? 0,
    probesFailed: p?.failed ?? 0,
    probesRefused: p?.refused ?? 0,
  };
}

/** An unverified reload is a failure unless the rollout accepts unverified reloads; the outcome word stays. */
function accepting(result: StepResult, settings: RolloutSettings): StepResult {
  if (result.ok || result.outcome !== "unverified" || !settings.acceptUnverified) return result;
  return { ...result, ok: true, reason: `${result.reason} (accepted: accept_unverified)` };
}

function unverifiedNote(steps: StepRecord[]): string {
  const n = steps.filter((s) => s.outcome === "unverified").length;
  return n ? `; ${n} unverified (accepted without generation evidence)` : "";
}

function failedCall(err: AgentCallError): StepResult {
  return { outcome: err.unreachable ? "unreachable" : "failed", ok: false, reason: err.message, evidence: "", probesSent: 0, probesFailed: 0, probesRefused: 0 };
}

function fromConfigChange(res: ConfigChangeResponse): StepResult {
  const reload = res.reload ? fromResponse(res.reload) : undefined;
  const outcome = res.change === ConfigChange.CONFIG_CHANGE_UNCHANGED ? "unchanged" : res.change === ConfigChange.CONFIG_CHANGE_REJECTED ? "rejected" : reload?.outcome ?? "failed";
  return {
    outcome,
    ok: res.ok,
    reason: res.reason,
    evidence: JSON.stringify({ change: ConfigChange[res.change], check: res.check, reload: res.reload?.evidence }),
    probesSent: reload?.probesSent ?? 0,
    probesFailed: reload?.probesFailed ?? 0,
    probesRefused: reload?.probesRefused ?? 0,
    previousSha256: res.previousSha256,
    newSha256: res.newSha256,
  };
}

function groupByBatch(steps: StepRecord[]): { index: number; canary: boolean; steps: StepRecord[] }[] {
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

// Runs recorded rollouts (new or resumed) and keeps the ones running: their
// listeners, abort, and the controller's shutdown. What one rollout does is in
// rollout-run.ts; what an agent is asked is in agent-actions.ts.
import type { Logger } from "../../common/logger.js";
import type { HistoryStore, RolloutRecord, StepResult } from "../history/history-store.js";
import { AgentActions, type AgentClientFactory, type Deadlines } from "./agent-actions.js";
import { failedPrecondition } from "../../common/errors.js";
import { runPreflight, type PreflightReport, type PreflightRule, type PreflightWant } from "./preflight.js";
import { RolloutRun } from "./rollout-run.js";

export type { AgentClientFactory } from "./agent-actions.js";
export { requestIdFor } from "./agent-actions.js";

/** What a rollout needs to run, stored with it so a resume runs the same way. */
export interface RolloutSettings {
  /** `rollback`: a restore of the versions recorded on its steps, never a push. */
  kind: "reload" | "config" | "rollback";
  service: string;
  /** Config rollouts and rollbacks: destination path; config rollouts: the content's hash (content is in the history). */
  configPath?: string;
  configSha256?: string;
  /** Config rollouts of sets: the paths (and which are templates); each host's versions are on its step. */
  files?: { path: string; template: boolean }[];
  /** Config rollouts: when halted, also restore hosts already done. */
  rollbackAll?: boolean;
  maxFailures: number;
  bakeMs: number;
  pauseMs: number;
  allowRestart: boolean;
  /** Count `unverified` reloads as success (absent in rollouts recorded before it existed). */
  acceptUnverified?: boolean;
  /** Wait for `fleet promote` after the canary batch and its bake. */
  approve?: boolean;
  /** The policy as given, for the record. */
  policyText: string;
}

export interface RolloutEvent {
  rolloutId: number;
  kind:
    | "started"
    | "preflight"
    | "preflight_failed"
    | "batch"
    | "host_started"
    | "host_finished"
    | "rollback_started"
    | "rollback"
    | "bake"
    | "waiting_for_approval"
    | "approved"
    | "pause"
    | "halted"
    | "abort_requested"
    | "finished";
  /** The agent address ("" for rollout-wide events). */
  host: string;
  /** The host's inventory name, when the event is about a host. */
  hostName?: string;
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
  /** Read at every agent call: a SIGHUP's new deadlines apply to running rollouts. */
  deadlines: Deadlines;
  /** How often canaries are probed while baking. */
  bakeProbeEveryMs?: number;
  /** Backoff for history writes that failed (a full disk). */
  journalRetryMs?: { first: number; max: number };
  now?: () => number;
}

export interface RunOptions {
  listener?: (e: RolloutEvent) => void;
  /** Results a resume derived from recorded facts, recorded before anything runs. */
  settled?: { host: string; result: StepResult }[];
  /** Hosts failing the preflight are recorded as failed instead of refusing, within max_failures. */
  allowPreflightFailures?: boolean;
}

export class RolloutExecutor {
  private readonly running = new Map<number, { run: RolloutRun; done: Promise<RolloutRecord> }>();
  private readonly actions: AgentActions;

  constructor(private readonly deps: ExecutorDeps) {
    this.actions = new AgentActions(deps.agents, deps.deadlines);
  }

  /** Starts executing a rollout already recorded (new or resumed); resolves when it ends and its end is recorded. */
  run(rollout: RolloutRecord, settings: RolloutSettings, options: RunOptions = {}): Promise<RolloutRecord> {
    const run = new RolloutRun(
      rollout,
      settings,
      { history: this.deps.history, actions: this.actions, logger: this.deps.logger, now: this.deps.now ?? Date.now, bakeProbeEveryMs: this.deps.bakeProbeEveryMs ?? 1000, journalRetryMs: this.deps.journalRetryMs },
      options.settled,
      options.allowPreflightFailures,
    );
    if (options.listener) run.listeners.add(options.listener);
    // Deferred a tick so the caller can announce the rollout before its first event.
    const done = Promise.resolve()
      .then(() => run.execute())
      .finally(() => this.running.delete(rollout.id));
    this.running.set(rollout.id, { run, done });
    return done;
  }

  isRunning(id: number): boolean {
    return this.running.has(id);
  }

  /** Whether a running rollout waits at its approval gate. */
  isWaitingForApproval(id: number): boolean {
    return this.running.get(id)?.run.waitingForApproval ?? false;
  }

  /** The rollouts running now. */
  runningIds(): number[] {
    return [...this.running.keys()];
  }

  /** Asks the hosts what a rollout needs of them, touching nothing (a dry run's preflight). */
  preflight(hosts: string[], want: PreflightWant, rule: PreflightRule, nameOf?: (host: string) => string): Promise<PreflightReport> {
    return runPreflight(hosts, (h) => this.actions.inspect(h, want.service), want, rule, nameOf);
  }

  /** Lets a rollout waiting at its approval gate go on; undefined when it is not running here. Throws when it runs but does not wait. */
  promote(id: number, by: string): string | undefined {
    const r = this.running.get(id);
    if (!r) return undefined;
    if (!r.run.approve(by)) throw failedPrecondition(`rollout ${id} is not waiting for approval${r.run.stopped ? " (it is stopping)" : ""}; fleet promote applies after its canary batch and bake`);
    return `rollout ${id} approved by ${by}; it goes on with the other hosts`;
  }

  subscribe(id: number, listener: (e: RolloutEvent) => void): (() => void) | undefined {
    const r = this.running.get(id);
    if (!r) return undefined;
    r.run.listeners.add(listener);
    return () => r.run.listeners.delete(listener);
  }

  /** Requests an abort; undefined when the rollout is not running here. Returns what will happen, in words. */
  abort(id: number, by: string): string | undefined {
    const r = this.running.get(id);
    if (!r) return undefined;
    const stopped = r.run.stopped;
    if (stopped?.kind === "storage") return `rollout ${id} already stopped acting: the history cannot be written (${stopped.error.message}); it ends interrupted as soon as it can be`;
    if (stopped) return `rollout ${id} is already stopping (${stopped.kind === "abort" ? `abort requested by ${stopped.by}` : "controller shutdown"})`;
    r.run.stop({ kind: "abort", by });
    r.run.emit({ kind: "abort_requested", message: `abort requested by ${by}; in-flight hosts finish, no new host starts` });
    return `abort requested for rollout ${id}; in-flight hosts finish, no new host starts`;
  }

  /** Why a running rollout is not acting any more, if it is not (the history cannot be written). */
  storageFault(id: number): Error | undefined {
    const s = this.running.get(id)?.run.stopped;
    return s?.kind === "storage" ? s.error : undefined;
  }

  /** Controller shutdown: in-flight hosts finish, then every rollout is left interrupted (a history that cannot be written is not waited for). */
  async interruptAll(): Promise<void> {
    const all = [...this.running.values()];
    for (const r of all) r.run.shutdown();
    await Promise.allSettled(all.map((r) => r.done));
  }
}

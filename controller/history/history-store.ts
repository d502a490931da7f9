// What the controller records, behind a small interface the executor receives.
import type { OutcomeWord } from "../../common/outcome-words.js";

export type RolloutState = "running" | "succeeded" | "failed" | "aborted" | "interrupted";
export type StepStatus = "pending" | "running" | "done" | "skipped";
/** An agent outcome, or `unreachable` when the agent could not be asked. */
export type StepOutcome = OutcomeWord | "unreachable" | "unchanged";
export type RolloutKind = "reload" | "config" | "rollback";

export interface RolloutRecord {
  id: number;
  kind: RolloutKind;
  parentId: number | null;
  configPath: string;
  configSha256: string;
  schedule: string;
  group: string;
  service: string;
  state: RolloutState;
  reason: string;
  requestedBy: string;
  requestedFrom: string;
  policy: string;
  allowRestart: boolean;
  createdAt: number;
  finishedAt: number | null;
  summary: string;
  hostsTotal: number;
  hostsOk: number;
  hostsFailed: number;
  hostsSkipped: number;
  /** Done steps whose reload was unverified (accepted or not). */
  hostsUnverified: number;
}

export interface StepRecord {
  rolloutId: number;
  host: string;
  batch: number;
  canary: boolean;
  position: number;
  status: StepStatus;
  outcome: StepOutcome | "";
  ok: boolean;
  reason: string;
  evidence: string;
  probesSent: number;
  probesFailed: number;
  probesRefused: number;
  startedAt: number | null;
  finishedAt: number | null;
  previousSha256: string;
  newSha256: string;
  /** A restore step: the version it puts back (recorded before the agent is asked). */
  targetSha256: string;
}

export interface EventRecord {
  id: number;
  rolloutId: number;
  at: number;
  kind: string;
  host: string;
  message: string;
}

export interface NewStep {
  host: string;
  batch: number;
  canary: boolean;
  targetSha256?: string;
}

export interface NewRollout {
  kind: RolloutKind;
  /** A linked entry (a rollback) runs under its parent's locks and takes none. */
  parentId?: number;
  configPath?: string;
  configSha256?: string;
  schedule?: string;
  group: string;
  service: string;
  reason: string;
  requestedBy: string;
  requestedFrom: string;
  policy: string;
  allowRestart: boolean;
  steps: NewStep[];
}

export interface StepResult {
  outcome: StepOutcome;
  ok: boolean;
  reason: string;
  evidence: string;
  probesSent: number;
  probesFailed: number;
  probesRefused: number;
  previousSha256?: string;
  newSha256?: string;
}

/** Who holds a lock: a running rollout. */
export interface LockHolder {
  rolloutId: number;
  group: string;
  holder: string;
  since: number;
}

/** Another running rollout holds the group, or one of the hosts (agent address + service). */
export class LockBusyError extends Error {
  constructor(
    readonly what: string,
    readonly holder: LockHolder,
  ) {
    super(`${what} is busy: rollout ${holder.rolloutId} (${what.startsWith("group ") ? "" : `group ${holder.group}, `}started by ${holder.holder} at ${new Date(holder.since).toISOString()}) is running; wait for it, or fleet abort ${holder.rolloutId}`);
    this.name = "LockBusyError";
  }
}

export interface ScheduleRun {
  name: string;
  at: number;
  outcome: "started" | "unchanged" | "skipped";
  rolloutId: number | null;
  reason: string;
}

export interface HistoryStore {
  /**
   * Creates the rollout and its pending steps and takes the group's lock and
   * every host's lock (agent address + service), atomically; LockBusyError
   * names the rollout holding one.
   */
  createRollout(r: NewRollout, now: number): RolloutRecord;
  /** Takes the group's and the hosts' locks again for a resumed rollout. */
  resumeRollout(id: number, now: number): RolloutRecord;
  /** Appends steps to a rollout (a linked rollback entry grows as hosts are restored). */
  addSteps(rolloutId: number, steps: NewStep[]): void;
  markStepsRunning(rolloutId: number, hosts: string[], now: number): void;
  finishSteps(rolloutId: number, results: { host: string; result: StepResult }[], now: number): void;
  skipPendingSteps(rolloutId: number): string[];
  finishRollout(rolloutId: number, state: Exclude<RolloutState, "running" | "interrupted">, summary: string, now: number): RolloutRecord;
  addEvent(rolloutId: number, kind: string, host: string, message: string, now: number): EventRecord;
  /** At start-up: rollouts left running by a dead controller become interrupted. */
  interruptRunning(now: number): RolloutRecord[];
  /** Leaves a rollout interrupted, resumable, its locks released; `why` says what stopped it. */
  interruptRollout(id: number, now: number, why: string): RolloutRecord;
  getRollout(id: number): RolloutRecord | undefined;
  listRollouts(filter: { group?: string; limit: number; beforeId?: number }): RolloutRecord[];
  getSteps(rolloutId: number): StepRecord[];
  getEvents(rolloutId: number, limit?: number): EventRecord[];
  linkedRollouts(parentId: number): RolloutRecord[];
  /** Config contents by hash: what a config rollout pushes, kept for resume and for the record. */
  saveConfigVersion(content: Buffer, now: number): string;
  getConfigVersion(sha256: string): Buffer | undefined;
  scheduleState(name: string): { paused: boolean; lastSuccessSourceSha256: string };
  setSchedulePaused(name: string, paused: boolean): void;
  setScheduleSuccess(name: string, sourceSha256: string): void;
  recordScheduleRun(run: ScheduleRun): void;
  lastScheduleRun(name: string): ScheduleRun | undefined;
  scheduleRuns(name: string, limit: number): ScheduleRun[];
  /**
   * Runs `work` as one transaction: every write it makes commits, or none
   * does (it throws). A journal write made of several calls is retried whole,
   * so a half-committed one must be impossible.
   */
  atomically<T>(work: () => T): T;
  /** A stable id of this history database, to make agent request ids unique across databases. */
  readonly instanceId: string;
  close(): void;
}

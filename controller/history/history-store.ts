// What the controller records, behind a small interface the executor receives.
import type { OutcomeWord } from "../../common/outcome-words.js";

export type RolloutState = "running" | "succeeded" | "failed" | "aborted" | "interrupted";
export type StepStatus = "pending" | "running" | "done" | "skipped";
/** An agent outcome, or `unreachable` when the agent could not be asked. */
export type StepOutcome = OutcomeWord | "unreachable";

export interface RolloutRecord {
  id: number;
  kind: "reload";
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
}

export interface EventRecord {
  id: number;
  rolloutId: number;
  at: number;
  kind: string;
  host: string;
  message: string;
}

export interface NewRollout {
  kind: "reload";
  group: string;
  service: string;
  reason: string;
  requestedBy: string;
  requestedFrom: string;
  policy: string;
  allowRestart: boolean;
  steps: { host: string; batch: number; canary: boolean }[];
}

export interface StepResult {
  outcome: StepOutcome;
  ok: boolean;
  reason: string;
  evidence: string;
  probesSent: number;
  probesFailed: number;
  probesRefused: number;
}

/** Another rollout holds the group. */
export class GroupBusyError extends Error {
  constructor(
    readonly group: string,
    readonly holder: { rolloutId: number; holder: string; since: number },
  ) {
    super(`group ${group} is busy: rollout ${holder.rolloutId} (started by ${holder.holder} at ${new Date(holder.since).toISOString()}) is running; wait for it, or fleet abort ${holder.rolloutId}`);
    this.name = "GroupBusyError";
  }
}

export interface HistoryStore {
  /** Creates the rollout and its pending steps and takes the group's lock, atomically. */
  createRollout(r: NewRollout, now: number): RolloutRecord;
  /** Takes the group's lock again for a resumed rollout. */
  resumeRollout(id: number, now: number): RolloutRecord;
  markStepsRunning(rolloutId: number, hosts: string[], now: number): void;
  finishSteps(rolloutId: number, results: { host: string; result: StepResult }[], now: number): void;
  skipPendingSteps(rolloutId: number): string[];
  finishRollout(rolloutId: number, state: Exclude<RolloutState, "running" | "interrupted">, summary: string, now: number): RolloutRecord;
  addEvent(rolloutId: number, kind: string, host: string, message: string, now: number): EventRecord;
  /** At start-up: rollouts left running by a dead controller become interrupted. */
  interruptRunning(now: number): RolloutRecord[];
  /** A controller shutting down leaves its rollout interrupted, resumable. */
  interruptRollout(id: number, now: number): RolloutRecord;
  getRollout(id: number): RolloutRecord | undefined;
  listRollouts(filter: { group?: string; limit: number; beforeId?: number }): RolloutRecord[];
  getSteps(rolloutId: number): StepRecord[];
  getEvents(rolloutId: number, limit?: number): EventRecord[];
  /** A stable id of this history database, to make agent request ids unique across databases. */
  readonly instanceId: string;
  close(): void;
}

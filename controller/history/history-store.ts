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
  /** The last preflight's report as JSON (a PreflightReport), "" before one ran. */
  preflight: string;
  /** Not stored: set by the controller while the rollout waits at its approval gate. */
  waitingForApproval?: boolean;
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
  /** The inventory name of the host ("" in rollouts recorded before names existed: show the address). */
  hostName: string;
  /** A config step's file set: per path the version to push or restore, and the hashes the agent reported. */
  files: StepFile[];
  /** The unified diff the push applied on this host (capped), when known. */
  diff: string;
}

export interface StepFile {
  path: string;
  /** The version this step pushes (config) or puts back (rollback); "" = the file did not exist. */
  target: string;
  previous?: string;
  new?: string;
}

/** Per host and path, the hash fleet last installed or restored. */
export interface DesiredFile {
  path: string;
  sha256: string;
  rolloutId: number;
  updatedAt: number;
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
  hostName?: string;
  files?: StepFile[];
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

/** What a resume changes for the hosts that remain, recorded with the rollout. */
export interface ResumeChanges {
  /** The rollout's settings as JSON (the `policy` column), with the new bake, pause or batches. */
  policy: string;
  /** New batch numbers of the steps not done. */
  batches: { host: string; batch: number }[];
  /** Said in the `resumed` event. */
  note: string;
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
  /** Config sets: per path the hashes before and after on this host. */
  files?: { path: string; previous: string; new: string }[];
  diff?: string;
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
  /** Runs several writes as one: all are made, or (it throws) none is. Writes inside may themselves be multi-row. */
  transaction<T>(work: () => T): T;
  /**
   * Creates the rollout and its pending steps and takes the group's lock and
   * every host's lock (agent address + service), atomically; LockBusyError
   * names the rollout holding one.
   */
  createRollout(r: NewRollout, now: number): RolloutRecord;
  /** Takes the group's and the hosts' locks again for a resumed rollout, and records what the resume changes. */
  resumeRollout(id: number, now: number, changes?: ResumeChanges): RolloutRecord;
  /** Records the preflight's report (JSON) of the rollout's current run. */
  recordPreflight(id: number, report: string): void;
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
  /** Records what fleet installed or restored on a host (the desired state drift is measured against). */
  setDesiredFiles(host: string, service: string, files: { path: string; sha256: string }[], rolloutId: number, now: number): void;
  desiredFiles(host: string, service: string): DesiredFile[];
  scheduleState(name: string): { paused: boolean; lastSuccessSourceSha256: string };
  setSchedulePaused(name: string, paused: boolean): void;
  setScheduleSuccess(name: string, sourceSha256: string): void;
  recordScheduleRun(run: ScheduleRun): void;
  lastScheduleRun(name: string): ScheduleRun | undefined;
  scheduleRuns(name: string, limit: number): ScheduleRun[];
  /** A stable id of this history database, to make agent request ids unique across databases. */
  readonly instanceId: string;
  close(): void;
}

/** A step's file set after the agent reported on it: previous/new hashes per path joined to the targets. */
export function mergeStepFiles(files: StepFile[], reported: StepResult["files"]): StepFile[] {
  if (!reported?.length) return files;
  const out = files.map((f) => ({ ...f }));
  for (const r of reported) {
    const f = out.find((x) => x.path === r.path);
    if (f) Object.assign(f, { previous: r.previous, new: r.new });
    else out.push({ path: r.path, target: "", previous: r.previous, new: r.new });
  }
  return out;
}

export function parseStepFiles(text: string): StepFile[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? (v as StepFile[]) : [];
  } catch {
    return [];
  }
}

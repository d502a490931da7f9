// The narrow interfaces the controller's parts talk through: the gRPC server
// sees ControllerApi, the scheduler sees RolloutStarter and ScheduleStore.
// Neither reaches into the executor, the scheduler or the history.
import type { EventRecord, HistoryStore, RolloutRecord, StepRecord } from "./history/history-store.js";
import type { GroupConfig } from "./inventory/inventory.js";
import type { PlannedBatch, RolloutPlan } from "./rollout/plan-rollout.js";
import type { PreflightReport } from "./rollout/preflight.js";
import type { RolloutEvent, RolloutSettings } from "./rollout/rollout-executor.js";
import type { PolicyText } from "./rollout/rollout-policy.js";
import type { ScheduleView } from "./schedules/scheduler.js";
import type { ScheduleRun } from "./history/history-store.js";
import type { HostState } from "./agents/inspect-host.js";
import type { RenderedFile, SetFile } from "./rollout/render-config-set.js";

export interface ReloadRequest {
  group: string;
  policy: PolicyText;
  /** Names or addresses, globs with * and ?; empty = every host. */
  hosts: string[];
  /** Labels: "zone=a,role!=edge"; empty = no label condition. */
  select?: string;
  reason: string;
  /** What the CLI says about itself (user and host). */
  caller: { user: string; host: string };
  /** The transport's view of the caller (peer address). */
  peer: string;
  /** The name the transport authenticated (a client certificate's), when it has one. */
  identity?: string;
  allowRestart: boolean;
  /** Hosts failing the preflight are recorded as failed instead of refusing the rollout, within max_failures. */
  allowPreflightFailures?: boolean;
}

export interface ConfigRolloutRequest extends ReloadRequest {
  /** The set pushed together; templates are rendered per host. */
  files: SetFile[];
  rollbackAll: boolean;
  schedule?: string;
}

export type PlanRequest = Omit<ReloadRequest, "caller" | "peer" | "reason" | "identity" | "allowPreflightFailures">;
export type ConfigPlanRequest = Omit<ConfigRolloutRequest, "caller" | "peer" | "reason" | "identity">;

export interface PlannedReload {
  group: GroupConfig;
  plan: RolloutPlan;
  settings: RolloutSettings;
  /** Agent address -> inventory name, for every host of the group. */
  names: Map<string, string>;
  /** Hosts of the group left out by --hosts/--select, and why. */
  excluded: { name: string; address: string; why: string }[];
}

export interface PlannedConfig extends PlannedReload {
  files: SetFile[];
  /** Each selected host's files (templates rendered), by agent address. */
  perHost: Map<string, RenderedFile[]>;
}

/** What a config rollout would change on one host, from its agent's DiffConfig. */
export interface HostDiffReport {
  host: string;
  address: string;
  error: string;
  files: FileDiffReport[];
}

export interface FileDiffReport {
  path: string;
  liveExists: boolean;
  liveSha256: string;
  newSha256: string;
  /** live -> proposed; empty when unchanged. */
  unifiedDiff: string;
  truncated: boolean;
  addedLines: number;
  removedLines: number;
  binary: boolean;
}

/** One declared config file on a host: live against what fleet last installed. */
export interface FileDriftReport {
  path: string;
  exists: boolean;
  liveSha256: string;
  desiredSha256: string;
  drifted: boolean;
}

/** What `fleet resume` may change for the hosts that remain: batch, bake and pause. */
export interface ResumeOptions {
  policy?: PolicyText;
  allowPreflightFailures?: boolean;
}

/** The remaining plan of a rollout a resume would continue. */
export interface PlannedResume {
  rollout: RolloutRecord;
  settings: RolloutSettings;
  batches: PlannedBatch[];
  steps: StepRecord[];
  hostsLeft: number;
}

export interface StartedRollout {
  rollout: RolloutRecord;
  done: Promise<RolloutRecord>;
}

export interface HostStatusReport {
  group: string;
  /** Inventory name (the address for a host listed by address). */
  name: string;
  address: string;
  service: string;
  reachable: boolean;
  error: string;
  hostname: string;
  running: boolean;
  healthy: boolean;
  mainPid: number;
  configHashes: string[];
  /** What a reload of this service can prove (its generation evidence), from the agent. */
  evidence: string;
  files: FileDriftReport[];
  /** up, unhealthy, not_running, not_declared, denied or unreachable. */
  state: HostState;
}

export interface RolloutDetail {
  rollout: RolloutRecord;
  steps: StepRecord[];
  events: EventRecord[];
  linked: RolloutDetail[];
}

export interface ScheduleControl {
  list(): ScheduleView[];
  run(name: string, trigger: "cron" | "manual", force?: boolean): Promise<ScheduleRun>;
  pause(name: string): void;
  resume(name: string): void;
}

export type Listener = (e: RolloutEvent) => void;

/** The controller itself: identity and fencing epoch, and its history replication when on. */
export interface ControllerStatusReport {
  state: string;
  controllerId: string;
  /** TAKEOVER.START, or "" when this controller sends none (an in-memory history). */
  epoch: string;
  db: string;
  replication?: import("./replication/start-replication.js").ReplicationStatus;
}

/** Everything the gRPC server may ask of the controller. */
export interface ControllerApi {
  plan(req: PlanRequest): PlannedReload;
  planConfig(req: ConfigPlanRequest): PlannedConfig;
  /** Asks each planned host's agent what the set would change (read-only). */
  previewConfig(planned: PlannedConfig): Promise<HostDiffReport[]>;
  startReload(req: ReloadRequest, listener: Listener): StartedRollout;
  startConfigRollout(req: ConfigRolloutRequest, listener: Listener): StartedRollout;
  /** A dry run's preflight: asks the planned hosts, touches nothing. */
  preflight(settings: RolloutSettings, steps: { host: string; hostName?: string; canary: boolean }[], alreadyFailed: number, allowFailures: boolean): Promise<PreflightReport>;
  /** The remaining plan of a rollout `resume` would continue (refuses as resume does). */
  planResume(id: number, options?: ResumeOptions): PlannedResume;
  resume(id: number, listener: Listener, options?: ResumeOptions): StartedRollout;
  /** Returns what will happen, in words. */
  abort(id: number, by: string): { rollout: RolloutRecord; message: string };
  /** Lets a rollout waiting for approval go on. */
  promote(id: number, by: string): { rollout: RolloutRecord; message: string };
  /** Follows a running rollout, or gives how a finished one ended. */
  watch(id: number, listener: Listener): { unsubscribe: () => void } | { ended: RolloutRecord };
  listRollouts(filter: { group?: string; limit: number; beforeId?: number }): RolloutRecord[];
  showRollout(id: number): RolloutDetail;
  groupStatus(group: string): Promise<HostStatusReport[]>;
  /** The rollouts running now, of one group or all. */
  activeRollouts(group: string): RolloutRecord[];
  controllerStatus(): ControllerStatusReport;
  readonly schedules: ScheduleControl;
}

/** What the scheduler may start, and the drift it acts on. */
export interface RolloutStarter {
  startConfigRollout(req: ConfigRolloutRequest, listener: Listener): StartedRollout;
  /** Hosts of the group where a live file among `paths` differs from what fleet last installed there. */
  driftedHosts(group: string, paths: string[]): Promise<{ address: string; name: string; paths: string[] }[]>;
}

/** The scheduler's own records. */
export type ScheduleStore = Pick<HistoryStore, "scheduleState" | "setSchedulePaused" | "setScheduleSuccess" | "recordScheduleRun" | "lastScheduleRun" | "getRollout">;

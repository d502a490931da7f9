// The narrow interfaces the controller's parts talk through: the gRPC server
// sees ControllerApi, the scheduler sees RolloutStarter and ScheduleStore.
// Neither reaches into the executor, the scheduler or the history.
import type { EventRecord, HistoryStore, RolloutRecord, StepRecord } from "./history/history-store.js";
import type { GroupConfig } from "./inventory/inventory.js";
import type { RolloutPlan } from "./rollout/plan-rollout.js";
import type { RolloutEvent, RolloutSettings } from "./rollout/rollout-executor.js";
import type { PolicyText } from "./rollout/rollout-policy.js";
import type { ScheduleView } from "./schedules/scheduler.js";
import type { ScheduleRun } from "./history/history-store.js";

export interface ReloadRequest {
  group: string;
  policy: PolicyText;
  hosts: string[];
  reason: string;
  /** What the CLI says about itself (user and host). */
  caller: { user: string; host: string };
  /** The transport's view of the caller (peer address). */
  peer: string;
  /** The name the transport authenticated (a client certificate's), when it has one. */
  identity?: string;
  allowRestart: boolean;
}

export interface ConfigRolloutRequest extends ReloadRequest {
  path: string;
  content: Buffer;
  rollbackAll: boolean;
  schedule?: string;
}

export type PlanRequest = Omit<ReloadRequest, "caller" | "peer" | "reason" | "identity">;
export type ConfigPlanRequest = Omit<ConfigRolloutRequest, "caller" | "peer" | "reason" | "identity">;

export interface PlannedReload {
  group: GroupConfig;
  plan: RolloutPlan;
  settings: RolloutSettings;
}

export interface StartedRollout {
  rollout: RolloutRecord;
  done: Promise<RolloutRecord>;
}

export interface HostStatusReport {
  group: string;
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
}

export interface RolloutDetail {
  rollout: RolloutRecord;
  steps: StepRecord[];
  events: EventRecord[];
  linked: RolloutDetail[];
}

export interface ScheduleControl {
  list(): ScheduleView[];
  run(name: string, trigger: "cron" | "manual"): Promise<ScheduleRun>;
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
  planConfig(req: ConfigPlanRequest): PlannedReload;
  startReload(req: ReloadRequest, listener: Listener): StartedRollout;
  startConfigRollout(req: ConfigRolloutRequest, listener: Listener): StartedRollout;
  resume(id: number, listener: Listener): StartedRollout;
  /** Returns what will happen, in words. */
  abort(id: number, by: string): { rollout: RolloutRecord; message: string };
  /** Follows a running rollout, or gives how a finished one ended. */
  watch(id: number, listener: Listener): { unsubscribe: () => void } | { ended: RolloutRecord };
  listRollouts(filter: { group?: string; limit: number; beforeId?: number }): RolloutRecord[];
  showRollout(id: number): RolloutDetail;
  groupStatus(group: string): Promise<HostStatusReport[]>;
  controllerStatus(): ControllerStatusReport;
  readonly schedules: ScheduleControl;
}

/** What the scheduler may start. */
export interface RolloutStarter {
  startConfigRollout(req: ConfigRolloutRequest, listener: Listener): StartedRollout;
}

/** The scheduler's own records. */
export type ScheduleStore = Pick<HistoryStore, "scheduleState" | "setSchedulePaused" | "setScheduleSuccess" | "recordScheduleRun" | "lastScheduleRun" | "getRollout">;

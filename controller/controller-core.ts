// The controller's behaviour without the transport: inventory, planning,
// rollouts, history and group status, with one lifecycle — starting, serving,
// draining, stopped — and one shutdown() for the daemon, the tests and the demo.
import { failedPrecondition, FleetError, invalidArgument, notFound } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { AgentPool } from "./agents/agent-pool.js";
import type {
  ConfigPlanRequest,
  ConfigRolloutRequest,
  ControllerApi,
  HostStatusReport,
  Listener,
  PlannedReload,
  PlanRequest,
  ReloadRequest,
  RolloutDetail,
  StartedRollout,
} from "./controller-api.js";
import { LockBusyError, type HistoryStore, type RolloutRecord } from "./history/history-store.js";
import type { GroupConfig, Inventory } from "./inventory/inventory.js";
import { ControllerEvents } from "./observability/controller-events.js";
import { globMatch } from "./glob-match.js";
import { planRollout } from "./rollout/plan-rollout.js";
import { planResume } from "./rollout/resume-plan.js";
import { RolloutExecutor, type AgentClientFactory, type RolloutSettings } from "./rollout/rollout-executor.js";
import { applyPolicyText, describePolicy } from "./rollout/rollout-policy.js";
import { Scheduler } from "./schedules/scheduler.js";

export type { ConfigRolloutRequest, HostStatusReport, PlannedReload, ReloadRequest } from "./controller-api.js";

export type ControllerState = "starting" | "serving" | "draining" | "stopped";

/** Something the core stops on shutdown, after the rollouts: a gRPC server. */
export interface Transport {
  shutdown(graceMs: number): Promise<void>;
}

export interface CoreOptions {
  /** Instead of real clients (tests). */
  agents?: AgentClientFactory;
  bakeProbeEveryMs?: number;
  /** Backoff for history writes that failed, and for the start-up recovery. */
  retryMs?: { first: number; max: number };
}

export class ControllerCore implements ControllerApi {
  private stateNow: ControllerState = "starting";
  private readonly pool: AgentPool;
  private readonly executor: RolloutExecutor;
  private readonly scheduler: Scheduler;
  private readonly transports: Transport[] = [];
  private recovery: { timer?: NodeJS.Timeout; error?: Error; attempts: number } = { attempts: 0 };
  private stopping: Promise<void> | undefined;
  /** Metrics, webhooks and the web view subscribe here to every rollout event and schedule run. */
  readonly events: ControllerEvents;

  constructor(
    private inventory: Inventory,
    private readonly history: HistoryStore,
    private readonly logger: Logger,
    private readonly options: CoreOptions = {},
  ) {
    this.events = new ControllerEvents(logger);
    this.pool = new AgentPool(() => this.inventory);
    this.executor = new RolloutExecutor({
      history,
      agents: options.agents ?? ((address) => this.pool.client(address)),
      logger,
      deadlines: () => ({ reloadMs: this.inventory.agents.reloadDeadlineMs, probeMs: this.inventory.agents.deadlineMs }),
      bakeProbeEveryMs: options.bakeProbeEveryMs,
      journalRetryMs: options.retryMs,
    });
    this.scheduler = new Scheduler(this, history, logger, (run) => this.events.scheduleRun(run));
    this.scheduler.apply(inventory.schedules);
  }

  get state(): ControllerState {
    return this.stateNow;
  }

  get currentInventory(): Inventory {
    return this.inventory;
  }

  get schedules() {
    return this.scheduler;
  }

  /**
   * Start-up: rollouts a dead controller left running become interrupted. If
   * the history cannot be written yet, that is retried with backoff; their
   * locks stay held until it succeeds.
   */
  recoverInterrupted(): void {
    try {
      for (const r of this.history.interruptRunning(Date.now())) {
        this.logger.warn("rollout was interrupted by a controller stop; fleet resume finishes it", { rollout: r.id, group: r.group });
      }
      this.recovery = { attempts: 0 };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const attempts = this.recovery.attempts + 1;
      const waitMs = Math.min((this.options.retryMs?.first ?? 500) * 2 ** (attempts - 1), this.options.retryMs?.max ?? 10_000);
      this.logger.error("history write failed at start-up; rollouts left running stay locked until it can be written; retrying", { error: error.message, retry_ms: waitMs });
      const timer = setTimeout(() => this.stateNow !== "draining" && this.stateNow !== "stopped" && this.recoverInterrupted(), waitMs);
      this.recovery = { error, attempts, timer };
    }
  }

  /** The transports are listening: calls are accepted from now on. */
  serving(transports: Transport[]): void {
    this.transports.push(...transports);
    if (this.stateNow === "starting") this.stateNow = "serving";
  }

  /** A new, already validated inventory (SIGHUP). Running rollouts keep their plan; deadlines and credentials apply at once. */
  replaceInventory(next: Inventory): void {
    this.inventory = next;
    this.pool.reset();
    this.scheduler.apply(next.schedules);
  }

  private group(name: string): GroupConfig {
    const g = this.inventory.groups.get(name);
    if (!g) throw notFound(`no group ${JSON.stringify(name)} in the inventory; groups: ${[...this.inventory.groups.keys()].join(", ") || "(none)"}`);
    return g;
  }

  plan(req: PlanRequest): PlannedReload {
    const group = this.group(req.group);
    const { policy, problems } = applyPolicyText(group.policy, req.policy, (f) => `--${f.replace("_", "-")}`);
    if (problems.length) throw invalidArgument(problems.join("; "));
    const hosts = req.hosts.length ? group.hosts.filter((h) => req.hosts.some((pattern) => globMatch(pattern, h))) : group.hosts;
    if (req.hosts.length && hosts.length === 0) throw invalidArgument(`--hosts ${req.hosts.join(",")} matches none of group ${group.name}'s hosts`);
    const plan = planRollout(hosts, group.canary, policy);
    const settings: RolloutSettings = {
      kind: "reload",
      service: group.service,
      maxFailures: plan.maxFailures,
      bakeMs: policy.bakeMs,
      pauseMs: policy.pauseMs,
      allowRestart: req.allowRestart,
      acceptUnverified: policy.acceptUnverified,
      policyText: describePolicy(policy),
    };
    return { group, plan, settings };
  }

  planConfig(req: ConfigPlanRequest): PlannedReload {
    if (!req.path.startsWith("/") || req.path.split("/").includes("..")) throw invalidArgument(`--path must be an absolute path without '..', got ${JSON.stringify(req.path)}`);
    if (req.content.length === 0) throw invalidArgument("--file is empty");
    const planned = this.plan(req);
    planned.settings = { ...planned.settings, kind: "config", configPath: req.path, rollbackAll: req.rollbackAll };
    return planned;
  }

  /** Records and starts a rolling reload; `listener` receives its events. */
  startReload(req: ReloadRequest, listener: Listener): StartedRollout {
    return this.start(req, this.plan(req), listener);
  }

  /** Records and starts a config rollout: the same policy, a push instead of a plain reload. */
  startConfigRollout(req: ConfigRolloutRequest, listener: Listener): StartedRollout {
    const planned = this.planConfig(req);
    this.acceptingWork();
    planned.settings.configSha256 = this.writing("nothing was started", () => this.history.saveConfigVersion(req.content, Date.now()));
    return this.start(req, planned, listener);
  }

  private start(req: ReloadRequest & { schedule?: string }, planned: PlannedReload, listener: Listener): StartedRollout {
    this.acceptingWork();
    if (planned.plan.total === 0) throw invalidArgument(`group ${req.group} has no hosts`);
    const rollout = this.writing("nothing was started", () =>
      this.history.createRollout(
        {
          kind: planned.settings.kind,
          configPath: planned.settings.configPath,
          configSha256: planned.settings.configSha256,
          schedule: req.schedule,
          group: planned.group.name,
          service: planned.group.service,
          reason: req.reason,
          requestedBy: requestedBy(req),
          requestedFrom: req.peer,
          policy: JSON.stringify(planned.settings),
          allowRestart: req.allowRestart,
          steps: planned.plan.batches.flatMap((b) => b.hosts.map((host) => ({ host, batch: b.index, canary: b.canary }))),
        },
        Date.now(),
      ),
    );
    this.logger.info("rollout started", { rollout: rollout.id, group: rollout.group, by: rollout.requestedBy, reason: req.reason });
    return { rollout, done: this.executor.run(rollout, planned.settings, { listener: this.events.tee(rollout, listener) }) };
  }

  /** Continues an interrupted or aborted rollout as what it was recorded as; refuses, saying why, what cannot be resumed. */
  resume(id: number, listener: Listener): StartedRollout {
    this.acceptingWork();
    const existing = this.rolloutOrThrow(id);
    if (existing.state === "running") throw failedPrecondition(this.whyRunning(existing));
    const plan = planResume({
      rollout: existing,
      steps: this.history.getSteps(id),
      linked: this.history.linkedRollouts(id).map((l) => ({ rollout: l, steps: this.history.getSteps(l.id) })),
      configKept: existing.kind !== "config" || this.history.getConfigVersion(existing.configSha256) !== undefined,
    });
    if (!plan.ok) throw failedPrecondition(plan.why);
    // Hosts skipped by an abort become pending again; finished ones stay finished.
    const rollout = this.writing("nothing was resumed", () => this.history.resumeRollout(id, Date.now()));
    this.logger.info("rollout resumed", { rollout: id, kind: rollout.kind, in_doubt: plan.inDoubt, settled: plan.settled.map((s) => s.host) });
    return { rollout, done: this.executor.run(rollout, plan.settings, { listener: this.events.tee(rollout, listener), settled: plan.settled }) };
  }

  abort(id: number, by: string): { rollout: RolloutRecord; message: string } {
    const r = this.rolloutOrThrow(id);
    const message = this.executor.abort(id, by);
    if (message) return { rollout: this.history.getRollout(id)!, message };
    if (r.state === "running") throw failedPrecondition(this.whyRunning(r));
    throw failedPrecondition(`rollout ${id} is ${r.state}, not running: nothing to abort${r.state === "interrupted" ? ` (it is already stopped; fleet resume ${id} finishes it)` : ""}`);
  }

  /** A rollout recorded as running that this controller is not running: why, in words. */
  private whyRunning(r: RolloutRecord): string {
    // A rollback entry is run by its parent's run, and ends with it.
    if (r.parentId !== null && this.executor.isRunning(r.parentId)) {
      const parent = r.parentId;
      const fault = this.executor.storageFault(parent);
      const state = fault ? `which stopped acting because the history cannot be written (${fault.message}); both end as soon as it can be` : `which is running; this entry ends with it (fleet abort ${parent} stops it; restores in flight finish)`;
      return `rollout ${r.id} is the rollback entry of rollout ${parent}, ${state}`;
    }
    const fault = this.executor.storageFault(r.id);
    if (fault) return `rollout ${r.id} stopped acting because the history cannot be written (${fault.message}); it ends interrupted as soon as it can be, then fleet resume ${r.id} finishes it`;
    if (this.executor.isRunning(r.id)) return `rollout ${r.id} is running (fleet abort ${r.id} stops it)`;
    const why = this.recovery.error ? ` (the history cannot be written yet: ${this.recovery.error.message}; retrying)` : "";
    return `rollout ${r.id} was left running by a controller that stopped; it becomes interrupted, and resumable, once the history can be written${why}`;
  }

  watch(id: number, listener: Listener): { unsubscribe: () => void } | { ended: RolloutRecord } {
    const r = this.rolloutOrThrow(id);
    const unsubscribe = this.executor.subscribe(id, listener);
    return unsubscribe ? { unsubscribe } : { ended: r };
  }

  listRollouts(filter: { group?: string; limit: number; beforeId?: number }): RolloutRecord[] {
    return this.history.listRollouts(filter);
  }

  showRollout(id: number): RolloutDetail {
    const detail = (x: RolloutRecord, linked: RolloutDetail[]): RolloutDetail => ({ rollout: x, steps: this.history.getSteps(x.id), events: this.history.getEvents(x.id), linked });
    const r = this.rolloutOrThrow(id);
    return detail(r, this.history.linkedRollouts(id).map((l) => detail(l, [])));
  }

  private rolloutOrThrow(id: number): RolloutRecord {
    const r = this.history.getRollout(id);
    if (!r) throw notFound(`no rollout ${id}`);
    return r;
  }

  async groupStatus(groupName: string): Promise<HostStatusReport[]> {
    const groups = groupName ? [this.group(groupName)] : [...this.inventory.groups.values()];
    return Promise.all(groups.flatMap((g) => g.hosts.map((address) => this.hostStatus(g, address))));
  }

  private async hostStatus(g: GroupConfig, address: string): Promise<HostStatusReport> {
    const base = { group: g.name, address, service: g.service, hostname: "", running: false, healthy: false, mainPid: 0, configHashes: [] as string[], evidence: "" };
    try {
      const client = this.options.agents ? this.options.agents(address) : this.pool.client(address);
      const s = await client.status(g.service, { deadlineMs: this.inventory.agents.deadlineMs });
      const svc = s.services[0];
      return {
        ...base,
        reachable: true,
        error: svc?.error ?? "",
        hostname: s.hostname,
        running: svc?.running ?? false,
        healthy: svc?.healthy ?? false,
        mainPid: svc?.main?.pid ?? 0,
        configHashes: (svc?.configs ?? []).map((c) => `${c.path}=${c.exists ? c.sha256.slice(0, 12) : "missing"}`),
        evidence: svc?.evidence ?? "",
      };
    } catch (err) {
      return { ...base, reachable: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private acceptingWork(): void {
    if (this.stateNow === "draining" || this.stateNow === "stopped") throw new FleetError("unavailable", "the controller is shutting down; nothing new starts");
  }

  /** A history write the caller waits for: a lock held is a precondition; a storage failure is said plainly. */
  private writing<T>(consequence: string, write: () => T): T {
    try {
      return write();
    } catch (err) {
      if (err instanceof LockBusyError) throw failedPrecondition(err.message);
      if (err instanceof FleetError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error("history write failed", { error: message });
      throw new FleetError("unavailable", `the history database cannot be written (${message}); ${consequence}`);
    }
  }

  /**
   * Stops the controller once, whoever asks (SIGTERM, a test, the demo): no new
   * work, schedules stopped, in-flight hosts finish and running rollouts are
   * left interrupted, then the transports, the agent clients and the history close.
   */
  shutdown(graceMs = 5000): Promise<void> {
    this.stopping ??= (async () => {
      this.stateNow = "draining";
      if (this.recovery.timer) clearTimeout(this.recovery.timer);
      this.scheduler.stop();
      await this.executor.interruptAll();
      await Promise.all(this.transports.map((t) => t.shutdown(graceMs)));
      this.pool.close();
      this.history.close();
      this.stateNow = "stopped";
    })();
    return this.stopping;
  }
}

/** What the CLI says, and the certificate name when the transport authenticated one. */
function requestedBy(req: ReloadRequest): string {
  const said = `${req.caller.user || "unknown"}@${req.caller.host || "unknown"}`;
  return req.identity ? `cert:${req.identity} (${said})` : said;
}

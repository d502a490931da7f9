// The controller's behaviour without the transport: inventory, planning,
// rollouts, history and group status, with one lifecycle — starting, serving,
// draining, stopped — and one shutdown() for the daemon, the tests and the demo.
import { formatEpoch } from "../common/controller-epoch.js";
import { failedPrecondition, FleetError, invalidArgument, notFound } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { stateSentence } from "../common/plural.js";
import { mapLimited } from "../common/map-limited.js";
import { AGENT_FAN_OUT } from "./agents/agent-fan-out.js";
import { AgentPool } from "./agents/agent-pool.js";
import type {
  ConfigPlanRequest,
  ConfigRolloutRequest,
  ControllerApi,
  HostDiffReport,
  ControllerStatusReport,
  HostStatusReport,
  Listener,
  PlannedConfig,
  PlannedReload,
  PlannedResume,
  PlanRequest,
  ReloadRequest,
  ResumeOptions,
  RolloutDetail,
  StartedRollout,
} from "./controller-api.js";
import { inspectHost } from "./agents/inspect-host.js";
import { LockBusyError, type HistoryStore, type RolloutRecord, type StepFile } from "./history/history-store.js";
import { preflightWant, type PreflightReport } from "./rollout/preflight.js";
import { planRemainder, type RemainderOverrides } from "./rollout/remainder-plan.js";
import type { GroupConfig, Inventory } from "./inventory/inventory.js";
import { ControllerEvents } from "./observability/controller-events.js";
import { compareDrift } from "./drift/compare-drift.js";
import { parseSelector, selectHosts, type HostSelection } from "./inventory/select-hosts.js";
import { previewConfigSet } from "./rollout/config-preview.js";
import { setDigest, setProblems, sha256, stepTargets } from "./rollout/plan-config.js";
import { renderConfigSet } from "./rollout/render-config-set.js";
import { EpochAnnouncer } from "./replication/announce-epoch.js";
import { planRollout } from "./rollout/plan-rollout.js";
import { planResume } from "./rollout/resume-plan.js";
import { RolloutExecutor, type AgentClientFactory, type RolloutSettings } from "./rollout/rollout-executor.js";
import { applyPolicyText, DEFAULT_POLICY, describePolicy, type PolicyText } from "./rollout/rollout-policy.js";
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
  /** This controller's identity and epoch for the agents' fencing (absent: calls carry none). */
  fencing?: { controllerId: string; epoch: import("../common/controller-epoch.js").ControllerEpoch };
  /** The history's replication, for controllerStatus(). */
  replication?: { status(): import("./replication/start-replication.js").ReplicationStatus };
}

export class ControllerCore implements ControllerApi {
  private stateNow: ControllerState = "starting";
  private readonly pool: AgentPool;
  private readonly executor: RolloutExecutor;
  private readonly scheduler: Scheduler;
  private readonly transports: Transport[] = [];
  /** Stopped after the history is closed (replication: its final sync sees every write). */
  private readonly afterHistory: Transport[] = [];
  private recovery: { timer?: NodeJS.Timeout; error?: Error; attempts: number } = { attempts: 0 };
  private stopping: Promise<void> | undefined;
  /** Tells every agent this controller's epoch (when it has one), so the one it replaced is fenced everywhere. */
  private readonly announcer: EpochAnnouncer | undefined;
  /** Metrics, webhooks and the web view subscribe here to every rollout event and schedule run. */
  readonly events: ControllerEvents;

  constructor(
    private inventory: Inventory,
    private readonly history: HistoryStore,
    private readonly logger: Logger,
    private readonly options: CoreOptions = {},
  ) {
    this.events = new ControllerEvents(logger);
    this.pool = new AgentPool(() => this.inventory, options.fencing);
    this.executor = new RolloutExecutor({
      history,
      agents: options.agents ?? ((address) => this.pool.client(address)),
      logger,
      deadlines: () => ({ reloadMs: this.inventory.agents.reloadDeadlineMs, probeMs: this.inventory.agents.deadlineMs }),
      bakeProbeEveryMs: options.bakeProbeEveryMs,
      journalRetryMs: options.retryMs,
    });
    this.scheduler = new Scheduler(this, history, logger, (run) => this.events.scheduleRun(run));
    this.announcer = options.fencing
      ? new EpochAnnouncer({
          hosts: () => [...this.inventory.groups.values()].flatMap((g) => g.hosts),
          client: options.agents ?? ((address) => this.pool.client(address)),
          deadlineMs: () => this.inventory.agents.deadlineMs,
          logger,
        })
      : undefined;
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
  serving(transports: Transport[], afterHistory: Transport[] = []): void {
    this.transports.push(...transports);
    this.afterHistory.push(...afterHistory);
    if (this.stateNow === "starting") {
      this.stateNow = "serving";
      this.announcer?.start();
    }
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
    const selection = selectFromRequest(group, req);
    const plan = planRollout(selection.selected.map((h) => h.address), group.canary, policy);
    if (policy.approve && plan.canaryCount === 0 && plan.total > 0) {
      throw invalidArgument(`approval (--approve, or the group's policy approve) waits after the canary batch, and this plan has none (--canary 0): give a canary, or leave approval off`);
    }
    const settings: RolloutSettings = {
      kind: "reload",
      service: group.service,
      maxFailures: plan.maxFailures,
      bakeMs: policy.bakeMs,
      pauseMs: policy.pauseMs,
      allowRestart: req.allowRestart,
      acceptUnverified: policy.acceptUnverified,
      approve: policy.approve,
      policyText: describePolicy(policy),
    };
    const names = new Map(group.members.map((h) => [h.address, h.name]));
    const excluded = selection.excluded.map((x) => ({ name: x.host.name, address: x.host.address, why: x.why }));
    return { group, plan, settings, names, excluded };
  }

  /** Plans a config rollout and renders its templates for every selected host; any problem on any host refuses it, all listed. */
  planConfig(req: ConfigPlanRequest): PlannedConfig {
    const problems = setProblems(req.files);
    if (problems.length) throw invalidArgument(problems.join("; "));
    const planned = this.plan(req);
    const addresses = new Set(planned.plan.batches.flatMap((b) => b.hosts));
    const rendered = renderConfigSet(req.files, planned.group.members.filter((h) => addresses.has(h.address)), planned.group);
    if (!rendered.ok) throw invalidArgument(`nothing was started: ${rendered.problems.length} template problem${rendered.problems.length === 1 ? "" : "s"}:\n  ${rendered.problems.join("\n  ")}`);
    const settings: RolloutSettings = {
      ...planned.settings,
      kind: "config",
      configPath: req.files.map((f) => f.path).join(", "),
      configSha256: setDigest(rendered.perHost),
      files: req.files.map((f) => ({ path: f.path, template: f.template })),
      rollbackAll: req.rollbackAll,
    };
    return { ...planned, settings, files: req.files, perHost: rendered.perHost };
  }

  previewConfig(planned: PlannedConfig): Promise<HostDiffReport[]> {
    const targets = planned.plan.batches.flatMap((b) => b.hosts).map((address) => ({ address, name: planned.names.get(address) ?? address, files: planned.perHost.get(address) ?? [] }));
    return previewConfigSet((a) => this.client(a), this.inventory.agents.deadlineMs, planned.group.service, targets);
  }

  private client(address: string) {
    return this.options.agents ? this.options.agents(address) : this.pool.client(address);
  }

  /** Records and starts a rolling reload; `listener` receives its events. */
  startReload(req: ReloadRequest, listener: Listener): StartedRollout {
    return this.start(req, this.plan(req), listener);
  }

  /** Records and starts a config rollout: the same policy, a push instead of a plain reload. */
  startConfigRollout(req: ConfigRolloutRequest, listener: Listener): StartedRollout {
    const planned = this.planConfig(req);
    this.acceptingWork();
    const contents = new Map([...planned.perHost.values()].flat().map((f) => [sha256(f.content), f.content]));
    this.writing("nothing was started", () => contents.forEach((content) => this.history.saveConfigVersion(content, Date.now())));
    return this.start(req, planned, listener, (address) => stepTargets(planned.perHost.get(address) ?? []));
  }

  private start(req: ReloadRequest & { schedule?: string }, planned: PlannedReload, listener: Listener, files: (address: string) => StepFile[] = () => []): StartedRollout {
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
          steps: planned.plan.batches.flatMap((b) => b.hosts.map((host) => ({ host, hostName: planned.names.get(host) ?? host, batch: b.index, canary: b.canary, files: files(host) }))),
        },
        Date.now(),
      ),
    );
    this.logger.info("rollout started", { rollout: rollout.id, group: rollout.group, by: rollout.requestedBy, reason: req.reason });
    return { rollout, done: this.executor.run(rollout, planned.settings, { listener: this.events.tee(rollout, listener), allowPreflightFailures: req.allowPreflightFailures }) };
  }

  /** A dry run's preflight: the same questions and the same decision as a real run's, nothing touched. */
  preflight(settings: RolloutSettings, steps: { host: string; hostName?: string; canary: boolean }[], alreadyFailed: number, allowFailures: boolean): Promise<PreflightReport> {
    const rule = { maxFailures: settings.maxFailures, allowFailures, canaries: steps.filter((s) => s.canary).map((s) => s.host), alreadyFailed };
    const names = new Map(steps.map((s) => [s.host, s.hostName || s.host]));
    return this.executor.preflight(steps.map((s) => s.host), preflightWant(settings), rule, (h) => names.get(h) ?? h);
  }

  /** The remaining plan a resume would run, with the operator's batch, bake and pause. */
  planResume(id: number, options: ResumeOptions = {}): PlannedResume {
    const { existing, remainder, steps } = this.prepareResume(id, options);
    return { rollout: this.view(existing), settings: remainder.settings, batches: remainder.batches, steps, hostsLeft: remainder.hostsLeft };
  }

  /** Continues an interrupted or aborted rollout as what it was recorded as; refuses, saying why, what cannot be resumed. */
  resume(id: number, listener: Listener, options: ResumeOptions = {}): StartedRollout {
    this.acceptingWork();
    const { plan, remainder } = this.prepareResume(id, options);
    const changes = remainder.note ? { policy: JSON.stringify(remainder.settings), batches: [...remainder.batchOf].map(([host, batch]) => ({ host, batch })), note: remainder.note } : undefined;
    // Hosts skipped by an abort become pending again; finished ones stay finished.
    const rollout = this.writing("nothing was resumed", () => this.history.resumeRollout(id, Date.now(), changes));
    this.logger.info("rollout resumed", { rollout: id, kind: rollout.kind, in_doubt: plan.inDoubt, settled: plan.settled.map((s) => s.host), changes: remainder.note });
    const run = { listener: this.events.tee(rollout, listener), settled: plan.settled, allowPreflightFailures: options.allowPreflightFailures };
    return { rollout, done: this.executor.run(rollout, remainder.settings, run) };
  }

  private prepareResume(id: number, options: ResumeOptions) {
    const existing = this.rolloutOrThrow(id);
    if (existing.state === "running") throw failedPrecondition(this.whyRunning(existing));
    const steps = this.history.getSteps(id);
    const plan = planResume({
      rollout: existing,
      steps,
      linked: this.history.linkedRollouts(id).map((l) => ({ rollout: l, steps: this.history.getSteps(l.id) })),
      configKept: existing.kind !== "config" || this.configKept(existing),
    });
    if (!plan.ok) throw failedPrecondition(plan.why);
    const overrides = resumeOverrides(options.policy ?? {});
    if (existing.kind === "rollback" && Object.keys(options.policy ?? {}).length) throw invalidArgument(`rollout ${id} is a restore: it has no batches, bake or pause to change`);
    // Hosts a resume settles from the record are not part of what remains.
    const settled = new Set(plan.settled.map((s) => s.host));
    const remainder = planRemainder(steps.map((s) => (settled.has(s.host) ? { ...s, status: "done" as const } : s)), plan.settings, overrides);
    return { existing, plan, remainder, steps };
  }

  promote(id: number, by: string): { rollout: RolloutRecord; message: string } {
    const r = this.rolloutOrThrow(id);
    const message = this.executor.promote(id, by);
    if (message) return { rollout: this.view(this.history.getRollout(id)!), message };
    throw failedPrecondition(`rollout ${id} ${stateSentence(r.state)}; it is not waiting for approval${r.state === "interrupted" ? ` (fleet resume ${id} continues it and waits for approval again)` : ""}`);
  }

  /** A record as the CLI shows it: a running rollout paused at its approval gate says so. */
  private view(r: RolloutRecord): RolloutRecord {
    return this.executor.isWaitingForApproval(r.id) ? { ...r, waitingForApproval: true } : r;
  }

  activeRollouts(group: string): RolloutRecord[] {
    return this.executor
      .runningIds()
      .map((id) => this.history.getRollout(id))
      .filter((r): r is RolloutRecord => r !== undefined && (!group || r.group === group))
      .map((r) => this.view(r));
  }

  /** Every version a config rollout pushes is still in the history (a set's per-host targets, or an older rollout's one file). */
  private configKept(r: RolloutRecord): boolean {
    const targets = this.history.getSteps(r.id).flatMap((s) => s.files.map((f) => f.target));
    if (targets.length === 0) return this.history.getConfigVersion(r.configSha256) !== undefined;
    return [...new Set(targets)].every((t) => this.history.getConfigVersion(t) !== undefined);
  }

  abort(id: number, by: string): { rollout: RolloutRecord; message: string } {
    const r = this.rolloutOrThrow(id);
    const message = this.executor.abort(id, by);
    if (message) return { rollout: this.history.getRollout(id)!, message };
    if (r.state === "running") throw failedPrecondition(this.whyRunning(r));
    throw failedPrecondition(`rollout ${id} ${stateSentence(r.state)} and is not running: nothing to abort${r.state === "interrupted" ? ` (it is already stopped; fleet resume ${id} finishes it)` : ""}`);
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

  /** An unknown group is an error, unless the history has rollouts of it (a group since removed). */
  listRollouts(filter: { group?: string; limit: number; beforeId?: number }): RolloutRecord[] {
    const rows = this.history.listRollouts(filter);
    if (filter.group && rows.length === 0 && !this.inventory.groups.has(filter.group) && filter.beforeId === undefined) {
      throw notFound(`no group ${JSON.stringify(filter.group)} in the inventory and no rollouts of it in the history; groups: ${[...this.inventory.groups.keys()].join(", ") || "(none)"}`);
    }
    return rows.map((r) => this.view(r));
  }

  showRollout(id: number): RolloutDetail {
    const detail = (x: RolloutRecord, linked: RolloutDetail[]): RolloutDetail => ({ rollout: this.view(x), steps: this.history.getSteps(x.id), events: this.history.getEvents(x.id), linked });
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
    return mapLimited(groups.flatMap((g) => g.members.map((h) => ({ g, h }))), AGENT_FAN_OUT, ({ g, h }) => this.hostStatus(g, h.address, h.name));
  }

  async driftedHosts(groupName: string, paths: string[]): Promise<{ address: string; name: string; paths: string[] }[]> {
    const hosts = await this.groupStatus(groupName);
    return hosts
      .map((h) => ({ address: h.address, name: h.name, paths: h.files.filter((f) => f.drifted && paths.includes(f.path)).map((f) => f.path) }))
      .filter((h) => h.paths.length > 0);
  }

  /** One host's state (inspectHost: reachable, credentials, service declared and running) and its files against what fleet installed. */
  private async hostStatus(g: GroupConfig, address: string, name: string): Promise<HostStatusReport> {
    const i = await inspectHost(() => this.client(address), g.service, this.inventory.agents.deadlineMs);
    const svc = i.status;
    const files = svc ? compareDrift(svc.configs, this.history.desiredFiles(address, g.service)) : [];
    return {
      group: g.name,
      name,
      address,
      service: g.service,
      state: i.state,
      reachable: i.state !== "unreachable",
      error: i.problem,
      hostname: i.hostname,
      running: svc?.running ?? false,
      healthy: svc?.healthy ?? false,
      mainPid: svc?.main?.pid ?? 0,
      configHashes: files.map((f) => `${f.path}=${f.exists ? f.liveSha256.slice(0, 12) : "missing"}${f.drifted ? ` DRIFTED (fleet installed ${f.desiredSha256.slice(0, 12) || "nothing: removed"})` : ""}`),
      evidence: svc?.evidence ?? "",
      files,
    };
  }

  controllerStatus(): ControllerStatusReport {
    const f = this.options.fencing;
    return {
      state: this.stateNow,
      controllerId: f?.controllerId ?? this.history.instanceId,
      epoch: f ? formatEpoch(f.epoch) : "",
      db: this.inventory.controller.db,
      replication: this.options.replication?.status(),
    };
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
      await this.announcer?.stop();
      await this.executor.interruptAll();
      await Promise.all(this.transports.map((t) => t.shutdown(graceMs)));
      this.pool.close();
      this.history.close();
      for (const t of this.afterHistory) await t.shutdown(graceMs);
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

/** The hosts a request takes: --hosts patterns and --select labels; nothing selected is refused with every host's reason. */
function selectFromRequest(group: GroupConfig, req: PlanRequest): HostSelection {
  const selector = parseSelector(req.select ?? "");
  if (!selector.ok) throw invalidArgument(selector.problem);
  const selection = selectHosts(group.members, req.hosts, selector.terms);
  if (selection.selected.length === 0) {
    const asked = [req.hosts.length ? `--hosts ${req.hosts.join(",")}` : "", req.select ? `--select ${req.select}` : ""].filter(Boolean).join(" ");
    throw invalidArgument(`${asked || "the selection"} matches none of group ${group.name}'s hosts:\n  ${selection.excluded.map((x) => `${x.host.name}: ${x.why}`).join("\n  ")}`);
  }
  return selection;
}

/** fleet resume changes only the batches, bake and pause of what remains. */
function resumeOverrides(text: PolicyText): RemainderOverrides {
  const other = Object.keys(text).filter((k) => !["batch", "bake", "pause"].includes(k));
  if (other.length) throw invalidArgument(`fleet resume changes only --batch, --bake and --pause of the hosts that remain, not ${other.map((k) => `--${k.replace("_", "-")}`).join(", ")}`);
  const { policy, problems } = applyPolicyText(DEFAULT_POLICY, text, (f) => `--${f}`);
  if (problems.length) throw invalidArgument(problems.join("; "));
  return { batch: text.batch !== undefined ? policy.batch : undefined, bakeMs: text.bake !== undefined ? policy.bakeMs : undefined, pauseMs: text.pause !== undefined ? policy.pauseMs : undefined };
}

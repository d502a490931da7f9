// The controller's behaviour without the transport: inventory, planning,
// rollouts, history and group status.
import { readFileSync } from "node:fs";
import { createAgentClient, type AgentClient } from "../common/agent-client.js";
import { failedPrecondition, invalidArgument, notFound } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { HistoryStore, RolloutRecord } from "./history/history-store.js";
import { GroupBusyError } from "./history/history-store.js";
import type { GroupConfig, Inventory } from "./inventory/inventory.js";
import { planRollout, type RolloutPlan } from "./rollout/plan-rollout.js";
import { RolloutExecutor, type RolloutEvent, type RolloutSettings } from "./rollout/rollout-executor.js";
import { applyPolicyText, describePolicy, type PolicyText } from "./rollout/rollout-policy.js";
import { Scheduler } from "./schedules/scheduler.js";

export interface ReloadRequest {
  group: string;
  policy: PolicyText;
  hosts: string[];
  reason: string;
  caller: { user: string; host: string };
  /** The transport's view of the caller (peer address). */
  peer: string;
  allowRestart: boolean;
}

export interface ConfigRolloutRequest extends ReloadRequest {
  path: string;
  content: Buffer;
  rollbackAll: boolean;
  schedule?: string;
}

export interface PlannedReload {
  group: GroupConfig;
  plan: RolloutPlan;
  settings: RolloutSettings;
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
  evidence: string;
}

export class ControllerCore {
  private clients = new Map<string, AgentClient>();
  readonly executor: RolloutExecutor;
  readonly scheduler: Scheduler;

  constructor(
    private inventory: Inventory,
    readonly history: HistoryStore,
    private readonly logger: Logger,
    agentFactory?: (address: string) => AgentClient,
  ) {
    this.executor = new RolloutExecutor({
      history,
      agents: agentFactory ?? ((address) => this.client(address)),
      logger,
      reloadDeadlineMs: inventory.agents.reloadDeadlineMs,
      probeDeadlineMs: inventory.agents.deadlineMs,
    });
    this.scheduler = new Scheduler(this, logger);
    this.scheduler.apply(inventory.schedules);
  }

  get currentInventory(): Inventory {
    return this.inventory;
  }

  /** A new, already validated inventory (SIGHUP). Running rollouts keep their plan. */
  replaceInventory(next: Inventory): void {
    this.inventory = next;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    this.scheduler.apply(next.schedules);
  }

  private client(address: string): AgentClient {
    let c = this.clients.get(address);
    if (!c) {
      const access = this.inventory.agents.access;
      const opts = { deadlineMs: this.inventory.agents.deadlineMs, reloadDeadlineMs: this.inventory.agents.reloadDeadlineMs };
      c =
        access.mode === "token"
          ? createAgentClient(address, { ...opts, token: readFileSync(access.tokenFile, "utf8").trim() })
          : access.mode === "tls"
            ? createAgentClient(address, { ...opts, tls: { ca: readFileSync(access.ca), cert: readFileSync(access.cert), key: readFileSync(access.key) } })
            : createAgentClient(address, opts);
      this.clients.set(address, c);
    }
    return c;
  }

  private group(name: string): GroupConfig {
    const g = this.inventory.groups.get(name);
    if (!g) throw notFound(`no group ${JSON.stringify(name)} in the inventory; groups: ${[...this.inventory.groups.keys()].join(", ") || "(none)"}`);
    return g;
  }

  plan(req: Omit<ReloadRequest, "caller" | "peer" | "reason">): PlannedReload {
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

  /** Records and starts a rolling reload; `listener` receives its events. */
  startReload(req: ReloadRequest, listener: (e: RolloutEvent) => void) {
    return this.start(req, this.plan(req), listener);
  }

  /** Records and starts a config rollout: the same policy, a push instead of a plain reload. */
  startConfigRollout(req: ConfigRolloutRequest, listener: (e: RolloutEvent) => void) {
    const planned = this.planConfig(req);
    planned.settings.configSha256 = this.history.saveConfigVersion(req.content, Date.now());
    return this.start(req, planned, listener);
  }

  planConfig(req: Omit<ConfigRolloutRequest, "caller" | "peer" | "reason">): PlannedReload {
    if (!req.path.startsWith("/") || req.path.split("/").includes("..")) throw invalidArgument(`--path must be an absolute path without '..', got ${JSON.stringify(req.path)}`);
    if (req.content.length === 0) throw invalidArgument("--file is empty");
    const planned = this.plan(req);
    planned.settings = { ...planned.settings, kind: "config", configPath: req.path, rollbackAll: req.rollbackAll };
    return planned;
  }

  private start(req: ReloadRequest & { schedule?: string }, planned: PlannedReload, listener: (e: RolloutEvent) => void): { rollout: RolloutRecord; planned: PlannedReload; done: Promise<RolloutRecord> } {
    if (planned.plan.total === 0) throw invalidArgument(`group ${req.group} has no hosts`);
    let rollout: RolloutRecord;
    try {
      rollout = this.history.createRollout(
        {
          kind: planned.settings.kind,
          configPath: planned.settings.configPath,
          configSha256: planned.settings.configSha256,
          schedule: req.schedule,
          group: planned.group.name,
          service: planned.group.service,
          reason: req.reason,
          requestedBy: `${req.caller.user || "unknown"}@${req.caller.host || "unknown"}`,
          requestedFrom: req.peer,
          policy: JSON.stringify(planned.settings),
          allowRestart: req.allowRestart,
          steps: planned.plan.batches.flatMap((b) => b.hosts.map((host) => ({ host, batch: b.index, canary: b.canary }))),
        },
        Date.now(),
      );
    } catch (err) {
      if (err instanceof GroupBusyError) throw failedPrecondition(err.message);
      throw err;
    }
    this.logger.info("rollout started", { rollout: rollout.id, group: rollout.group, by: rollout.requestedBy, reason: req.reason });
    const done = this.executor.run(rollout, planned.settings, listener);
    return { rollout, planned, done };
  }

  resume(id: number, listener: (e: RolloutEvent) => void): { rollout: RolloutRecord; done: Promise<RolloutRecord> } {
    const existing = this.history.getRollout(id);
    if (!existing) throw notFound(`no rollout ${id}`);
    if (existing.state !== "interrupted" && existing.state !== "aborted") {
      throw failedPrecondition(`rollout ${id} is ${existing.state}; only interrupted or aborted rollouts can be resumed`);
    }
    let rollout: RolloutRecord;
    try {
      // Hosts skipped by the abort become pending again; finished ones stay finished.
      rollout = this.history.resumeRollout(id, Date.now());
    } catch (err) {
      if (err instanceof GroupBusyError) throw failedPrecondition(err.message);
      throw err;
    }
    const settings = JSON.parse(existing.policy) as RolloutSettings;
    const done = this.executor.run(rollout, settings, listener);
    return { rollout, done };
  }

  abort(id: number, by: string): RolloutRecord {
    const r = this.history.getRollout(id);
    if (!r) throw notFound(`no rollout ${id}`);
    if (!this.executor.abort(id, by)) throw failedPrecondition(`rollout ${id} is ${r.state}, not running`);
    return this.history.getRollout(id)!;
  }

  watch(id: number, listener: (e: RolloutEvent) => void): (() => void) | undefined {
    if (!this.history.getRollout(id)) throw notFound(`no rollout ${id}`);
    return this.executor.subscribe(id, listener);
  }

  async groupStatus(groupName: string): Promise<HostStatusReport[]> {
    const groups = groupName ? [this.group(groupName)] : [...this.inventory.groups.values()];
    const rows = await Promise.all(
      groups.flatMap((g) =>
        g.hosts.map(async (address): Promise<HostStatusReport> => {
          const base = { group: g.name, address, service: g.service, hostname: "", running: false, healthy: false, mainPid: 0, configHashes: [] as string[], evidence: "" };
          try {
            const s = await this.client(address).status(g.service, { deadlineMs: this.inventory.agents.deadlineMs });
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
        }),
      ),
    );
    return rows;
  }

  close(): void {
    this.scheduler.stop();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** Host filter: exact address, or a glob where * matches any run of characters. */
export function globMatch(pattern: string, text: string): boolean {
  if (!pattern.includes("*")) return pattern === text;
  const re = new RegExp("^" + pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
  return re.test(text);
}


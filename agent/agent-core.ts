// The agent's behaviour without the transport: declared services only,
// idempotent reloads, one reload per service at a time.
import { plural } from "../common/plural.js";
import os from "node:os";
import path from "node:path";
import { failedPrecondition, FleetError, invalidArgument, permissionDenied, resourceExhausted } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { AgentConfig, ConfigFileSpec, ServiceConfig } from "./config/agent-config.js";
import { applyConfigSet, type ConfigChangeReport } from "./configs/apply-config-set.js";
import type { RequestedFile } from "./configs/config-set.js";
import { configFileStates, type ConfigFileState } from "./configs/config-file-state.js";
import { declaredSet } from "./configs/declared-path.js";
import { diffConfigFiles, type FileDiffReport } from "./configs/diff-config.js";
import { mountNamespaces, type MountNamespaces } from "./configs/mount-namespaces.js";
import { MAX_DIFF_BYTES } from "./configs/unified-diff.js";
import { sha256, VersionStore } from "./configs/version-store.js";
import { createServiceDriver, type MainProcess, type ServiceDriver } from "./drivers/service-driver.js";
import type { CommandRunner } from "./process/command-runner.js";
import { childrenOf, listeningSocketInodes, userName } from "./process/proc-fs.js";
import type { SystemdClient } from "./process/systemd-client.js";
import { probeLabel, runProbe, type ProbeOutcome } from "./probes/run-probe.js";
import { performReload, type ReloadReport } from "./reload/perform-reload.js";
import { evidenceCapability } from "./verify/generation-watcher.js";
import { RequestLedger } from "./reload/request-ledger.js";
import { StatusCache } from "./status-cache.js";

export const AGENT_VERSION = "0.1.0";

/** How long a service's Status report is reused (it runs the probes and reads /proc). */
export const STATUS_TTL_MS = 500;

export interface AgentDeps {
  runner: CommandRunner;
  systemd: SystemdClient;
  logger: Logger;
  hostname?: string;
  /** Whether checks can run in a private mount namespace; probed once by default. */
  namespaces?: MountNamespaces;
}

export interface ReloadCommand {
  requestId: string;
  service: string;
  allowRestart: boolean;
  generationTimeoutMs: number;
  healthyForMs: number;
}

export interface ConfigFileInput {
  path: string;
  content: Buffer;
  /** Hex sha256 the caller computed; a mismatch is refused. */
  sha256: string;
}

export interface PushConfigCommand {
  requestId: string;
  service: string;
  /** The set (one file or more), installed together. */
  files: ConfigFileInput[];
  allowRestart: boolean;
  restoreOnFailure: boolean;
}

export interface RollbackConfigCommand {
  requestId: string;
  service: string;
  /** sha256 "" = the file did not exist: remove it. */
  files: { path: string; sha256: string }[];
  allowRestart: boolean;
}

/** How a change is admitted beyond the agent's own rules. */
export interface ChangeGate {
  /**
   * Run again right before the change starts (after waiting for its service):
   * rejects when the caller may no longer act, e.g. its controller was fenced
   * while the call waited. Nothing is done then.
   */
  beforeStart?: () => Promise<void>;
  /**
   * Run once more at the change's commit point (right before it installs a
   * file, or before a reload starts): rejects like beforeStart, nothing done
   * yet; else the change counts as committed until the returned release.
   */
  beforeCommit?: () => Promise<() => void>;
}

/** Called by a change right before it touches the service; rejects when it may no longer act. */
export type CommitPoint = () => Promise<void>;

export interface DiffConfigCommand {
  service: string;
  files: ConfigFileInput[];
  /** 0 = the largest allowed. */
  maxDiffBytes: number;
}

export interface ServiceStatusReport {
  name: string;
  running: boolean;
  main?: MainProcess;
  workerPids: number[];
  listenSocketInodes: number[];
  healthy: boolean;
  probes: ProbeOutcome[];
  configs: ConfigFileState[];
  error: string;
  /** What a reload can prove, e.g. "workers (4 now)" or "none: reloads are unverified". */
  evidence: string;
}

interface Declared {
  config: ServiceConfig;
  driver: ServiceDriver;
}

export class AgentCore {
  readonly hostname: string;
  private services = new Map<string, Declared>();
  private readonly ledger = new RequestLedger<ReloadReport>();
  private readonly configLedger = new RequestLedger<ConfigChangeReport>();
  private versions: VersionStore;
  private readonly serviceLocks = new Map<string, Promise<unknown>>();
  /** Work in progress, labelled for the shutdown log. */
  private readonly inFlight = new Map<Promise<unknown>, string>();
  /** Aborted when shutdown's deadline passes: running commands are killed, waiting work does not start. */
  private readonly stopping = new AbortController();
  private readonly namespaces: MountNamespaces;
  /** Refusals of changes that were admitted but may no longer act when their turn came. */
  private readonly refusedAtStart = new WeakSet<object>();
  private readonly statusCache = new StatusCache<Omit<ServiceStatusReport, "configs">>(STATUS_TTL_MS);
  /** Status's running_only answers, cached and dropped like the full ones. */
  private readonly runningCache = new StatusCache<ServiceStatusReport>(STATUS_TTL_MS);

  constructor(
    private config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.hostname = deps.hostname ?? os.hostname();
    this.versions = new VersionStore(config.stateDir, config.keepVersions);
    this.services = this.buildServices(config);
    this.namespaces = deps.namespaces ?? mountNamespaces(deps.runner);
  }

  get currentConfig(): AgentConfig {
    return this.config;
  }

  /**
   * Builds the state a new, compiled config needs (SIGHUP); the returned
   * commit swaps it in at once. Work in flight keeps its old service definition.
   */
  prepare(config: AgentConfig): () => void {
    const services = this.buildServices(config);
    const versions = new VersionStore(config.stateDir, config.keepVersions);
    return () => {
      this.config = config;
      this.services = services;
      this.versions = versions;
      this.statusCache.clear();
      this.runningCache.clear();
    };
  }

  replaceConfig(config: AgentConfig): void {
    this.prepare(config)();
  }

  private buildServices(config: AgentConfig): Map<string, Declared> {
    return new Map([...config.services].map(([name, svc]) => [name, { config: svc, driver: createServiceDriver(svc.reload, this.deps) }]));
  }

  private declared(name: string): Declared {
    const d = this.services.get(name);
    if (!d) throw permissionDenied(`service ${JSON.stringify(name)} is not declared in this agent's config; declared: ${[...this.services.keys()].join(", ") || "(none)"}`);
    return d;
  }

  describe() {
    const uid = process.getuid?.() ?? -1;
    return {
      agentVersion: AGENT_VERSION,
      hostname: this.hostname,
      runAsUser: `${userName(uid)} (uid ${uid})`,
      services: [...this.services.values()].map(({ config: s, driver }) => ({
        name: s.name,
        reloadMethod: driver.method,
        reloadSummary: driver.summary,
        hasCheck: s.check !== undefined,
        generation: s.generation.kind,
        configPaths: s.configs.map((c) => c.path),
        healthProbes: s.health.map(probeLabel),
        allowRestart: s.allowRestart,
      })),
    };
  }

  async status(service: string, options: { runningOnly?: boolean } = {}): Promise<ServiceStatusReport[]> {
    const names = service ? [this.declared(service).config.name] : [...this.services.keys()];
    const services = this.services;
    if (options.runningOnly) return Promise.all(names.map((n) => this.runningCache.get(n, () => this.runningOf(services.get(n)!))));
    // Config hashes are read fresh on every call (small files; drift must show at once); the
    // process and probe parts may be up to STATUS_TTL_MS old.
    return Promise.all(
      names.map(async (n) => {
        const declared = services.get(n)!;
        const [report, configs] = await Promise.all([this.statusCache.get(n, () => this.statusOf(declared)), configFileStates(declared.config.configs)]);
        return { ...report, configs };
      }),
    );
  }

  private async statusOf({ config, driver }: Declared): Promise<Omit<ServiceStatusReport, "configs">> {
    const [located, probes] = await Promise.all([
      driver.locate().catch((err: Error) => ({ state: "error" as const, reason: err.message })),
      this.runProbes(config),
    ]);
    const main = located?.state === "running" ? located.main : undefined;
    const [workerPids, listenSocketInodes] = main ? await Promise.all([childrenOf(main.pid), listeningSocketInodes(main.pid)]) : [[], []];
    return {
      name: config.name,
      // Without a way to find the main process, "running" rests on the probes.
      running: located ? located.state === "running" : probes.length > 0 && probes.every((p) => p.ok),
      main,
      workerPids,
      listenSocketInodes,
      healthy: probes.every((p) => p.ok),
      probes,
      error: located && located.state !== "running" ? located.reason : "",
      evidence: evidenceCapability(config.generation, main ? workerPids.length : undefined),
    };
  }

  /**
   * Status's running_only answer, what a controller asks before a rollout: the main process
   * located (the probes only when running rests on them) and the declared config paths.
   */
  private async runningOf({ config, driver }: Declared): Promise<ServiceStatusReport> {
    // Nothing that may wait: the main process's command is the kernel's short name here.
    const located = await driver.locate({ command: false, exeId: false }).catch((err: Error) => ({ state: "error" as const, reason: err.message }));
    const probes = located ? [] : await this.runProbes(config);
    const main = located?.state === "running" ? located.main : undefined;
    return {
      name: config.name,
      running: located ? located.state === "running" : probes.length > 0 && probes.every((p) => p.ok),
      main,
      workerPids: [],
      listenSocketInodes: [],
      healthy: probes.length > 0 && probes.every((p) => p.ok),
      probes,
      configs: config.configs.map((c) => ({ path: c.path, exists: false, sha256: "", size: 0 })),
      error: located && located.state !== "running" ? located.reason : "",
      evidence: "",
    };
  }

  private runProbes(config: ServiceConfig) {
    return Promise.all(config.health.map((p) => runProbe(p, this.deps.runner)));
  }

  async probe(service: string) {
    const { config } = this.declared(service);
    const results = await this.runProbes(config);
    return { service: config.name, healthy: results.every((r) => r.ok), results };
  }

  async reload(cmd: ReloadCommand, gate: ChangeGate = {}): Promise<ReloadReport & { requestId: string; replayed: boolean }> {
    const { config, driver } = this.declared(cmd.service);
    const key = `reload ${config.name}`;
    const { result, replayed } = await this.once(this.ledger, cmd.requestId, key, gate, () => this.admit(key, config.name, (commit) => this.runReload(cmd, config, driver, commit), gate));
    return { ...result, requestId: cmd.requestId, replayed };
  }

  async pushConfig(cmd: PushConfigCommand, gate: ChangeGate = {}): Promise<ConfigChangeReport & { requestId: string; replayed: boolean }> {
    const { config, driver } = this.declared(cmd.service);
    const files = this.verifiedFiles(config, cmd.files);
    const key = `push ${config.name} ${cmd.files.map((f) => `${f.path}@${f.sha256}`).join(",")}${cmd.restoreOnFailure ? " restore-on-failure" : ""}`;
    const { result, replayed } = await this.once(this.configLedger, cmd.requestId, key, gate, () =>
      this.admit(key, config.name, (commit) => this.logged("config push", cmd.requestId, config.name, () => applyConfigSet(config, files, cmd, this.changeDeps(driver, commit))), gate),
    );
    return { ...result, requestId: cmd.requestId, replayed };
  }

  async rollbackConfig(cmd: RollbackConfigCommand, gate: ChangeGate = {}): Promise<ConfigChangeReport & { requestId: string; replayed: boolean }> {
    const { config, driver } = this.declared(cmd.service);
    const specs = declaredSet(config, cmd.files.map((f) => f.path));
    const key = `rollback ${config.name} ${cmd.files.map((f) => `${f.path}@${f.sha256 || "(none)"}`).join(",")}`;
    const { result, replayed } = await this.once(this.configLedger, cmd.requestId, key, gate, async () => {
      const files: RequestedFile[] = [];
      for (const [i, spec] of specs.entries()) {
        const hash = cmd.files[i]!.sha256;
        const content = hash ? await this.versions.get(config.name, spec.path, hash) : undefined;
        if (hash && !content) throw failedPrecondition(`version ${hash.slice(0, 12)} of ${spec.path} is not kept on this host (the newest and the ${this.config.keepVersions} before it are)`);
        files.push({ spec, content });
      }
      const opts = { allowRestart: cmd.allowRestart, restoreOnFailure: false };
      return this.admit(key, config.name, (commit) => this.logged("config rollback", cmd.requestId, config.name, () => applyConfigSet(config, files, opts, this.changeDeps(driver, commit))), gate);
    });
    return { ...result, requestId: cmd.requestId, replayed };
  }

  /** Read-only: what pushing `files` would change, per file. */
  async diffConfig(cmd: DiffConfigCommand): Promise<{ service: string; files: FileDiffReport[] }> {
    const { config } = this.declared(cmd.service);
    const files = this.verifiedFiles(config, cmd.files);
    const maxDiffBytes = cmd.maxDiffBytes > 0 ? Math.min(cmd.maxDiffBytes, MAX_DIFF_BYTES) : MAX_DIFF_BYTES;
    return { service: config.name, files: await diffConfigFiles(files, { maxDiffBytes, maxConfigBytes: this.config.limits.maxConfigBytes }) };
  }

  /** Declared paths, sizes within limits.max_config_bytes, hashes as sent: or nothing is done. */
  private verifiedFiles(config: ServiceConfig, files: ConfigFileInput[]): { spec: ConfigFileSpec; content: Buffer }[] {
    const specs = declaredSet(config, files.map((f) => f.path));
    const max = this.config.limits.maxConfigBytes;
    return files.map((f, i) => {
      if (f.content.length > max) throw invalidArgument(`${f.path}: config file of ${f.content.length} bytes exceeds limits.max_config_bytes (${max}); nothing written`);
      if (sha256(f.content) !== f.sha256) throw invalidArgument(`${f.path}: sha256 does not match the content sent; nothing written`);
      return { spec: specs[i]!, content: f.content };
    });
  }

  private changeDeps(driver: ServiceDriver, commit: CommitPoint) {
    return {
      driver,
      commit,
      runner: this.deps.runner,
      versions: this.versions,
      signal: this.stopping.signal,
      namespaces: this.namespaces,
      scratchDir: path.join(this.config.stateDir, "check-namespace"),
    };
  }

  private async logged(what: string, requestId: string, service: string, work: () => Promise<ConfigChangeReport>): Promise<ConfigChangeReport> {
    const log = this.deps.logger.child({ service, request_id: requestId });
    log.info(`${what} started`);
    const r = this.markInterrupted(await work());
    log[r.ok ? "info" : "warn"](`${what} finished`, { change: r.change, files: r.files.map((f) => `${f.path} ${f.previousSha256.slice(0, 12) || "(none)"} -> ${f.newSha256.slice(0, 12) || "(none)"}`), restored: r.restored, reason: r.reason });
    return r;
  }

  private async runReload(cmd: ReloadCommand, config: ServiceConfig, driver: ServiceDriver, commit: CommitPoint): Promise<ReloadReport> {
    const log = this.deps.logger.child({ service: config.name, request_id: cmd.requestId });
    log.info("reload started", { method: driver.method });
    const report = this.markInterrupted(
      await performReload(config, driver, this.deps.runner, {
        allowRestart: cmd.allowRestart,
        generationTimeoutMs: cmd.generationTimeoutMs,
        healthyForMs: cmd.healthyForMs,
        signal: this.stopping.signal,
        beforeSignal: commit,
      }),
    );
    log[report.ok ? "info" : "warn"]("reload finished", {
      outcome: report.outcome,
      reason: report.reason,
      probes: report.evidence.probes,
      ms: report.evidence.durations.totalMs,
    });
    return report;
  }

  /** A result cut short by shutdown's deadline says so. */
  private markInterrupted<R extends { ok: boolean; reason: string }>(r: R): R {
    if (!this.stopping.signal.aborted || r.ok) return r;
    return { ...r, reason: `interrupted by agent shutdown (shutdown_timeout ${this.config.shutdownTimeoutMs} ms): ${r.reason}` };
  }

  /**
   * The request ledger, for a caller that may have joined another caller's
   * request (same request id) still waiting for its service. If that request
   * was refused when it started (its controller fenced meanwhile), the
   * refusal was not this caller's: if this caller's own admission still
   * holds (a newer controller resuming with the same request ids), the
   * request runs once more, for it; otherwise the refusal stands.
   */
  private async once<T>(ledger: RequestLedger<T>, requestId: string, key: string, gate: ChangeGate, work: () => Promise<T>): Promise<{ result: T; replayed: boolean }> {
    try {
      return await ledger.once(requestId, key, work);
    } catch (err) {
      if (!this.refusedAtStart.has(err as object)) throw err;
      await gate.beforeStart?.().catch((err: unknown) => {
        if (typeof err === "object" && err) this.refusedAtStart.add(err);
        throw err;
      });
      return ledger.once(requestId, key, work);
    }
  }

  /** Every change to a service: within the concurrency limit, one at a time per service, tracked for shutdown. */
  private admit<T>(label: string, service: string, work: (commit: CommitPoint) => Promise<T>, gate: ChangeGate): Promise<T> {
    if (this.inFlight.size >= this.config.limits.maxConcurrentReloads) {
      throw resourceExhausted(`${plural(this.inFlight.size, "change")} already in progress (limits.max_concurrent_reloads); retry later`);
    }
    const refused = (err: unknown) => {
      if (typeof err === "object" && err) this.refusedAtStart.add(err);
      throw err;
    };
    const started = async () => {
      if (this.stopping.signal.aborted) throw new FleetError("unavailable", "the agent is shutting down; nothing was done");
      // What admitted the call may have changed while it waited (a fence): asked again, as late as possible.
      await gate.beforeStart?.().catch(refused);
      let release: (() => void) | undefined;
      const commit: CommitPoint = async () => {
        if (gate.beforeCommit && !release) release = await gate.beforeCommit().catch(refused);
      };
      // Status never answers from before a change that is running or just ended.
      this.forgetStatus(service);
      return work(commit).finally(() => {
        release?.();
        this.forgetStatus(service);
      });
    };
    return this.track(label, this.serialized(service, started));
  }

  private forgetStatus(service: string): void {
    this.statusCache.invalidate(service);
    this.runningCache.invalidate(service);
  }

  private serialized<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.serviceLocks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.serviceLocks.set(name, next);
    void next.finally(() => {
      if (this.serviceLocks.get(name) === next) this.serviceLocks.delete(name);
    }).catch(() => undefined);
    return next;
  }

  private track<T>(label: string, p: Promise<T>): Promise<T> {
    this.inFlight.set(p, label);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  /** Labels of the changes admitted and not finished (running, or waiting for their service). */
  inProgress(): string[] {
    return [...this.inFlight.values()];
  }

  /**
   * Graceful shutdown: waits up to `deadlineMs` for the work in progress;
   * then interrupts what is left (its commands' process groups are killed, a
   * live-checked file is restored) and waits `settleMs` more for it to report.
   */
  async drain(deadlineMs: number, settleMs = 5000): Promise<{ finished: number; interrupted: string[] }> {
    const pending = [...this.inFlight.keys()];
    const all = Promise.allSettled(pending);
    if (await finishedWithin(all, deadlineMs)) return { finished: pending.length, interrupted: [] };
    const interrupted = [...this.inFlight.values()];
    this.stopping.abort();
    await finishedWithin(all, settleMs);
    return { finished: pending.length - interrupted.length, interrupted };
  }
}

function finishedWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]).finally(() => clearTimeout(timer));
}

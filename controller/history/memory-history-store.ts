// HistoryStore in memory, for unit tests of the executor and the core: the same
// locking and state rules as the SQLite store, and a switch that makes every
// write fail (a full disk) until it is turned off.
import { createHash } from "node:crypto";
import { hostKey } from "../inventory/host-key.js";
import {
  LockBusyError,
  mergeStepFiles,
  type DesiredFile,
  type EventRecord,
  type HistoryStore,
  type LockHolder,
  type NewRollout,
  type NewStep,
  type ResumeChanges,
  type RolloutRecord,
  type RolloutState,
  type ScheduleRun,
  type StepRecord,
  type StepResult,
} from "./history-store.js";

type StoredRollout = Omit<RolloutRecord, "hostsTotal" | "hostsOk" | "hostsFailed" | "hostsSkipped" | "hostsUnverified">;

export class MemoryHistoryStore implements HistoryStore {
  readonly instanceId = "memory01";
  private readonly rollouts = new Map<number, StoredRollout>();
  private readonly steps = new Map<number, StepRecord[]>();
  private readonly events: EventRecord[] = [];
  private readonly groupLocks = new Map<string, LockHolder>();
  private readonly hostLocks = new Map<string, LockHolder>();
  private readonly versions = new Map<string, Buffer>();
  private readonly schedules = new Map<string, { paused: boolean; lastSuccessSourceSha256: string }>();
  private readonly runs: ScheduleRun[] = [];
  private nextId = 1;
  /** While set, every write throws it (nothing is changed). */
  writeFault: Error | undefined;
  /** Writes refused while `writeFault` was set. */
  refusedWrites = 0;

  private write<T>(work: () => T): T {
    if (this.writeFault) {
      this.refusedWrites++;
      throw this.writeFault;
    }
    return work();
  }

  /** Like the SQLite transaction: a write that throws inside undoes every write made inside. */
  transaction<T>(work: () => T): T {
    const saved = this.snapshot();
    try {
      return work();
    } catch (err) {
      this.restore(saved);
      throw err;
    }
  }

  private snapshot() {
    const copy = <K, V>(m: Map<K, V>) => new Map([...m].map(([k, v]) => [k, structuredClone(v)]));
    return {
      rollouts: copy(this.rollouts),
      steps: copy(this.steps),
      events: structuredClone(this.events),
      groupLocks: copy(this.groupLocks),
      hostLocks: copy(this.hostLocks),
      versions: new Map(this.versions),
      schedules: copy(this.schedules),
      runs: structuredClone(this.runs),
      nextId: this.nextId,
    };
  }

  private restore(s: ReturnType<MemoryHistoryStore["snapshot"]>) {
    const refill = <K, V>(m: Map<K, V>, from: Map<K, V>) => {
      m.clear();
      for (const [k, v] of from) m.set(k, v);
    };
    refill(this.rollouts, s.rollouts);
    refill(this.steps, s.steps);
    refill(this.groupLocks, s.groupLocks);
    refill(this.hostLocks, s.hostLocks);
    refill(this.versions, s.versions);
    refill(this.schedules, s.schedules);
    this.events.splice(0, this.events.length, ...s.events);
    this.runs.splice(0, this.runs.length, ...s.runs);
    this.nextId = s.nextId;
  }

  createRollout(r: NewRollout, now: number): RolloutRecord {
    return this.write(() => {
      const id = this.nextId;
      if (r.parentId === undefined) this.lock({ id, group: r.group, service: r.service, requestedBy: r.requestedBy }, r.steps.map((s) => s.host), now);
      this.nextId++;
      this.rollouts.set(id, {
        id,
        kind: r.kind,
        parentId: r.parentId ?? null,
        configPath: r.configPath ?? "",
        configSha256: r.configSha256 ?? "",
        schedule: r.schedule ?? "",
        group: r.group,
        service: r.service,
        state: "running",
        reason: r.reason,
        requestedBy: r.requestedBy,
        requestedFrom: r.requestedFrom,
        policy: r.policy,
        allowRestart: r.allowRestart,
        createdAt: now,
        finishedAt: null,
        summary: "",
        preflight: "",
      });
      this.steps.set(id, []);
      this.appendSteps(id, r.steps);
      return this.getRollout(id)!;
    });
  }

  /** Checks everything before taking anything, like the SQLite transaction. */
  private lock(r: { id: number; group: string; service: string; requestedBy: string }, hosts: string[], now: number) {
    const group = this.groupLocks.get(r.group);
    if (group) throw new LockBusyError(`group ${r.group}`, group);
    for (const host of hosts) {
      const h = this.hostLocks.get(`${hostKey(host)} ${r.service}`);
      if (h) throw new LockBusyError(`host ${host} (service ${r.service})`, h);
    }
    const holder = { rolloutId: r.id, group: r.group, holder: r.requestedBy, since: now };
    this.groupLocks.set(r.group, holder);
    for (const host of hosts) this.hostLocks.set(`${hostKey(host)} ${r.service}`, holder);
  }

  private unlock(id: number) {
    for (const locks of [this.groupLocks, this.hostLocks]) for (const [k, v] of locks) if (v.rolloutId === id) locks.delete(k);
  }

  recordPreflight(id: number, report: string): void {
    this.write(() => void (this.rollouts.get(id)!.preflight = report));
  }

  resumeRollout(id: number, now: number, changes?: ResumeChanges): RolloutRecord {
    return this.write(() => {
      const r = this.rollouts.get(id);
      if (!r) throw new Error(`no rollout ${id}`);
      this.lock(r, this.stepsOf(id).map((s) => s.host), now);
      r.state = "running";
      r.finishedAt = null;
      for (const s of this.stepsOf(id)) if (s.status === "skipped") s.status = "pending";
      if (changes) {
        r.policy = changes.policy;
        for (const b of changes.batches) for (const s of this.stepsOf(id)) if (s.host === b.host && s.status !== "done") s.batch = b.batch;
      }
      this.events.push({ id: this.events.length + 1, rolloutId: id, at: now, kind: "resumed", host: "", message: changes?.note || "resumed" });
      return this.getRollout(id)!;
    });
  }

  addSteps(rolloutId: number, steps: NewStep[]): void {
    this.write(() => this.appendSteps(rolloutId, steps));
  }

  private appendSteps(rolloutId: number, steps: NewStep[]) {
    const list = this.stepsOf(rolloutId);
    for (const s of steps) {
      if (list.some((x) => x.host === s.host)) throw new Error(`UNIQUE constraint failed: steps.rollout_id, steps.host (${s.host})`);
      list.push({
        rolloutId,
        host: s.host,
        batch: s.batch,
        canary: s.canary,
        position: list.length,
        status: "pending",
        outcome: "",
        ok: false,
        reason: "",
        evidence: "",
        probesSent: 0,
        probesFailed: 0,
        probesRefused: 0,
        startedAt: null,
        finishedAt: null,
        previousSha256: "",
        newSha256: "",
        targetSha256: s.targetSha256 ?? "",
        hostName: s.hostName ?? "",
        files: s.files ?? [],
        diff: "",
      });
    }
  }

  private stepsOf(id: number): StepRecord[] {
    return this.steps.get(id) ?? [];
  }

  markStepsRunning(rolloutId: number, hosts: string[], now: number): void {
    this.write(() => {
      for (const s of this.stepsOf(rolloutId)) if (hosts.includes(s.host)) Object.assign(s, { status: "running", startedAt: now });
    });
  }

  finishSteps(rolloutId: number, results: { host: string; result: StepResult }[], now: number): void {
    this.write(() => {
      for (const { host, result } of results) {
        const s = this.stepsOf(rolloutId).find((x) => x.host === host);
        if (s) Object.assign(s, { ...result, status: "done", finishedAt: now, previousSha256: result.previousSha256 ?? "", newSha256: result.newSha256 ?? "", files: mergeStepFiles(s.files, result.files), diff: result.diff ?? "" });
      }
    });
  }

  skipPendingSteps(rolloutId: number): string[] {
    return this.write(() => {
      const pending = this.stepsOf(rolloutId).filter((s) => s.status === "pending");
      for (const s of pending) s.status = "skipped";
      return pending.map((s) => s.host);
    });
  }

  finishRollout(rolloutId: number, state: Exclude<RolloutState, "running" | "interrupted">, summary: string, now: number): RolloutRecord {
    return this.write(() => {
      Object.assign(this.rollouts.get(rolloutId)!, { state, summary, finishedAt: now });
      this.unlock(rolloutId);
      return this.getRollout(rolloutId)!;
    });
  }

  addEvent(rolloutId: number, kind: string, host: string, message: string, now: number): EventRecord {
    return this.write(() => {
      const e = { id: this.events.length + 1, rolloutId, at: now, kind, host, message };
      this.events.push(e);
      return e;
    });
  }

  interruptRunning(now: number): RolloutRecord[] {
    return this.write(() => [...this.rollouts.values()].filter((r) => r.state === "running").map((r) => this.interruptRollout(r.id, now, "the controller stopped during this rollout")));
  }

  interruptRollout(id: number, now: number, why: string): RolloutRecord {
    return this.write(() => {
      Object.assign(this.rollouts.get(id)!, { state: "interrupted", finishedAt: now, summary: `${why}; fleet resume ${id} finishes the hosts not done` });
      this.unlock(id);
      this.events.push({ id: this.events.length + 1, rolloutId: id, at: now, kind: "interrupted", host: "", message: why });
      return this.getRollout(id)!;
    });
  }

  getRollout(id: number): RolloutRecord | undefined {
    const r = this.rollouts.get(id);
    if (!r) return undefined;
    const steps = this.stepsOf(id);
    return {
      ...r,
      hostsTotal: steps.length,
      hostsOk: steps.filter((s) => s.status === "done" && s.ok).length,
      hostsFailed: steps.filter((s) => s.status === "done" && !s.ok).length,
      hostsSkipped: steps.filter((s) => s.status === "skipped").length,
      hostsUnverified: steps.filter((s) => s.outcome === "unverified").length,
    };
  }

  listRollouts(filter: { group?: string; limit: number; beforeId?: number }): RolloutRecord[] {
    return [...this.rollouts.keys()]
      .filter((id) => id < (filter.beforeId ?? Infinity) && (!filter.group || this.rollouts.get(id)!.group === filter.group))
      .sort((a, b) => b - a)
      .slice(0, filter.limit)
      .map((id) => this.getRollout(id)!);
  }

  getSteps(rolloutId: number): StepRecord[] {
    return this.stepsOf(rolloutId).map((s) => ({ ...s, files: s.files.map((f) => ({ ...f })) }));
  }

  getEvents(rolloutId: number, limit = 10_000): EventRecord[] {
    return this.events.filter((e) => e.rolloutId === rolloutId).slice(0, limit);
  }

  linkedRollouts(parentId: number): RolloutRecord[] {
    return [...this.rollouts.values()].filter((r) => r.parentId === parentId).map((r) => this.getRollout(r.id)!);
  }

  saveConfigVersion(content: Buffer, _now: number): string {
    return this.write(() => {
      const hash = createHash("sha256").update(content).digest("hex");
      this.versions.set(hash, Buffer.from(content));
      return hash;
    });
  }

  getConfigVersion(sha256: string): Buffer | undefined {
    return this.versions.get(sha256);
  }

  private readonly desired = new Map<string, DesiredFile>();

  setDesiredFiles(host: string, service: string, files: { path: string; sha256: string }[], rolloutId: number, now: number): void {
    this.write(() => files.forEach((f) => this.desired.set(`${host} ${service} ${f.path}`, { path: f.path, sha256: f.sha256, rolloutId, updatedAt: now })));
  }

  desiredFiles(host: string, service: string): DesiredFile[] {
    return [...this.desired.entries()].filter(([k]) => k.startsWith(`${host} ${service} `)).map(([, v]) => ({ ...v })).sort((a, b) => a.path.localeCompare(b.path));
  }

  scheduleState(name: string) {
    return { ...(this.schedules.get(name) ?? { paused: false, lastSuccessSourceSha256: "" }) };
  }

  setSchedulePaused(name: string, paused: boolean): void {
    this.write(() => this.schedules.set(name, { ...this.scheduleState(name), paused }));
  }

  setScheduleSuccess(name: string, sourceSha256: string): void {
    this.write(() => this.schedules.set(name, { ...this.scheduleState(name), lastSuccessSourceSha256: sourceSha256 }));
  }

  recordScheduleRun(run: ScheduleRun): void {
    this.write(() => this.runs.push(run));
  }

  lastScheduleRun(name: string): ScheduleRun | undefined {
    return this.scheduleRuns(name, 1)[0];
  }

  scheduleRuns(name: string, limit: number): ScheduleRun[] {
    return this.runs.filter((r) => r.name === name).reverse().slice(0, limit);
  }

  close(): void {}
}

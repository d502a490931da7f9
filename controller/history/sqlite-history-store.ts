// HistoryStore on SQLite through better-sqlite3: WAL, versioned migrations,
// and a transaction around every multi-row change, so a row is either
// committed or absent.
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { hostKey } from "../inventory/host-key.js";
import { MIGRATIONS } from "./migrations.js";
import {
  LockBusyError,
  mergeStepFiles,
  parseStepFiles,
  type DesiredFile,
  type EventRecord,
  type HistoryStore,
  type NewRollout,
  type NewStep,
  type ResumeChanges,
  type RolloutRecord,
  type RolloutState,
  type ScheduleRun,
  type StepRecord,
  type StepResult,
} from "./history-store.js";

type Row = Record<string, unknown>;

const ROLLOUT_COLUMNS = `r.*,
  (SELECT count(*) FROM steps s WHERE s.rollout_id = r.id) AS hosts_total,
  (SELECT count(*) FROM steps s WHERE s.rollout_id = r.id AND s.status = 'done' AND s.ok = 1) AS hosts_ok,
  (SELECT count(*) FROM steps s WHERE s.rollout_id = r.id AND s.status = 'done' AND s.ok = 0) AS hosts_failed,
  (SELECT count(*) FROM steps s WHERE s.rollout_id = r.id AND s.status = 'skipped') AS hosts_skipped,
  (SELECT count(*) FROM steps s WHERE s.rollout_id = r.id AND s.status = 'done' AND s.outcome = 'unverified') AS hosts_unverified`;

/**
 * How long a write waits for another process's write lock (an sqlite3 shell,
 * a backup) once serving. Writes are synchronous on the controller's only
 * thread, so this is how long everything else stalls per attempt: kept short,
 * a busy database fails the write fast into the journal's retry with backoff
 * (the rollout stops acting and ends interrupted once it can be written).
 * Reads are never blocked by a writer (WAL) and take no write lock.
 */
export const BUSY_MS = 200;
const OPEN_BUSY_MS = 5000;

export class SqliteHistoryStore implements HistoryStore {
  private readonly db: Database.Database;
  readonly instanceId: string;

  /** `walAutocheckpoint: 0` while Litestream replicates: it checkpoints instead (https://litestream.io/tips/). */
  constructor(file: string, options: { walAutocheckpoint?: number } = {}) {
    if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    // Opening and migrating may wait for another writer: nothing is served yet.
    this.db = new Database(file, { timeout: OPEN_BUSY_MS });
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    if (options.walAutocheckpoint !== undefined) this.db.pragma(`wal_autocheckpoint = ${Math.trunc(options.walAutocheckpoint)}`);
    this.migrate();
    const row = this.stmt("SELECT value FROM meta WHERE key = 'instance_id'").get() as Row | undefined;
    if (row) this.instanceId = String(row.value);
    else {
      this.instanceId = randomUUID().slice(0, 8);
      this.stmt("INSERT INTO meta (key, value) VALUES ('instance_id', ?)").run(this.instanceId);
    }
    this.db.pragma(`busy_timeout = ${BUSY_MS}`);
    this.atomically = this.db.transaction((work: () => unknown) => work()) as SqliteHistoryStore["atomically"];
  }

  private readonly statements = new Map<string, Database.Statement>();

  /**
   * Runs its work in a transaction (a savepoint inside an open one). Made once: better-sqlite3
   * builds four wrapper functions for every db.transaction(), which a write per host paid.
   */
  private readonly atomically: { <T>(work: () => T): T; immediate<T>(work: () => T): T };

  /** Prepared once, reused: preparing is most of a small write's cost. */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private migrate() {
    const current = this.db.pragma("user_version", { simple: true }) as number;
    for (const m of MIGRATIONS.filter((x) => x.version > current)) {
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.pragma(`user_version = ${m.version}`);
      })();
    }
  }

  transaction<T>(work: () => T): T {
    // IMMEDIATE: the write lock is taken (or waited for) first, never upgraded to mid-way.
    return this.atomically.immediate(work);
  }

  createRollout(r: NewRollout, now: number): RolloutRecord {
    return this.atomically.immediate(() => {
      const id = Number(
        this.db
          .prepare(
            `INSERT INTO rollouts (kind, grp, service, state, reason, requested_by, requested_from, policy, allow_restart, created_at, parent_id, config_path, config_sha256, schedule)
             VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(r.kind, r.group, r.service, r.reason, r.requestedBy, r.requestedFrom, r.policy, r.allowRestart ? 1 : 0, now, r.parentId ?? null, r.configPath ?? "", r.configSha256 ?? "", r.schedule ?? "").lastInsertRowid,
      );
      if (r.parentId === undefined) this.lock({ id, group: r.group, service: r.service, requestedBy: r.requestedBy }, r.steps.map((s) => s.host), now);
      this.addSteps(id, r.steps);
      return this.getRollout(id)!;
    });
  }

  /** The group's lock and each host's; the first one held by another rollout refuses the lot (the transaction rolls back). */
  private lock(r: { id: number; group: string; service: string; requestedBy: string }, hosts: string[], now: number) {
    const held = this.stmt("SELECT * FROM group_locks WHERE grp = ?").get(r.group) as Row | undefined;
    if (held) throw new LockBusyError(`group ${r.group}`, this.holderOf(held, r.group));
    this.stmt("INSERT INTO group_locks (grp, rollout_id, holder, acquired_at) VALUES (?, ?, ?, ?)").run(r.group, r.id, r.requestedBy, now);
    for (const host of hosts) {
      // Keyed by the normalized address: one agent under two spellings is one host.
      const h = this.stmt("SELECT * FROM host_locks WHERE host = ? AND service = ?").get(hostKey(host), r.service) as Row | undefined;
      if (h) throw new LockBusyError(`host ${host} (service ${r.service})`, this.holderOf(h, String(h.grp)));
      this.stmt("INSERT INTO host_locks (host, service, rollout_id, grp, holder, acquired_at) VALUES (?, ?, ?, ?, ?, ?)").run(hostKey(host), r.service, r.id, r.group, r.requestedBy, now);
    }
  }

  private holderOf(row: Row, group: string) {
    return { rolloutId: Number(row.rollout_id), group, holder: String(row.holder), since: Number(row.acquired_at) };
  }

  private unlock(rolloutId: number) {
    this.stmt("DELETE FROM group_locks WHERE rollout_id = ?").run(rolloutId);
    this.stmt("DELETE FROM host_locks WHERE rollout_id = ?").run(rolloutId);
  }

  resumeRollout(id: number, now: number, changes?: ResumeChanges): RolloutRecord {
    return this.atomically.immediate(() => {
      const r = this.getRollout(id);
      if (!r) throw new Error(`no rollout ${id}`);
      this.lock(r, this.getSteps(id).map((s) => s.host), now);
      this.stmt("UPDATE rollouts SET state = 'running', finished_at = NULL WHERE id = ?").run(id);
      this.stmt("UPDATE steps SET status = 'pending' WHERE rollout_id = ? AND status = 'skipped'").run(id);
      if (changes) {
        this.stmt("UPDATE rollouts SET policy = ? WHERE id = ?").run(changes.policy, id);
        for (const b of changes.batches) this.stmt("UPDATE steps SET batch = ? WHERE rollout_id = ? AND host = ? AND status != 'done'").run(b.batch, id, b.host);
      }
      this.stmt("INSERT INTO events (rollout_id, at, kind, host, message) VALUES (?, ?, 'resumed', '', ?)").run(id, now, changes?.note || "resumed");
      return this.getRollout(id)!;
    });
  }

  recordPreflight(id: number, report: string): void {
    this.stmt("UPDATE rollouts SET preflight = ? WHERE id = ?").run(report, id);
  }

  addSteps(rolloutId: number, steps: NewStep[]): void {
    const next = Number((this.stmt("SELECT coalesce(max(position) + 1, 0) AS n FROM steps WHERE rollout_id = ?").get(rolloutId) as Row).n);
    const insert = this.stmt("INSERT INTO steps (rollout_id, host, batch, canary, position, status, target_sha256, host_name, files) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)");
    this.atomically(() =>
      steps.forEach((s, i) => insert.run(rolloutId, s.host, s.batch, s.canary ? 1 : 0, next + i, s.targetSha256 ?? "", s.hostName ?? "", s.files?.length ? JSON.stringify(s.files) : "")),
    );
  }

  markStepsRunning(rolloutId: number, hosts: string[], now: number): void {
    const stmt = this.stmt("UPDATE steps SET status = 'running', started_at = ? WHERE rollout_id = ? AND host = ?");
    this.atomically(() => hosts.forEach((h) => stmt.run(now, rolloutId, h)));
  }

  finishSteps(rolloutId: number, results: { host: string; result: StepResult }[], now: number): void {
    const stmt = this.stmt(
      `UPDATE steps SET status = 'done', outcome = ?, ok = ?, reason = ?, evidence = ?, probes_sent = ?, probes_failed = ?, probes_refused = ?, finished_at = ?,
         previous_sha256 = ?, new_sha256 = ?, files = ?, diff = ?
       WHERE rollout_id = ? AND host = ?`,
    );
    // A result that reports no files (a plain reload) leaves the step's recorded files as they are: no read, no rewrite.
    const keepFiles = this.stmt(
      `UPDATE steps SET status = 'done', outcome = ?, ok = ?, reason = ?, evidence = ?, probes_sent = ?, probes_failed = ?, probes_refused = ?, finished_at = ?,
         previous_sha256 = ?, new_sha256 = ?, diff = ?
       WHERE rollout_id = ? AND host = ?`,
    );
    const keep = (host: string, x: StepResult) => keepFiles.run(x.outcome, x.ok ? 1 : 0, x.reason, x.evidence, x.probesSent, x.probesFailed, x.probesRefused, now, x.previousSha256 ?? "", x.newSha256 ?? "", x.diff ?? "", rolloutId, host);
    // One host's result without files is one statement, atomic by itself: no savepoint (the executor writes one per host).
    const only = results.length === 1 ? results[0]! : undefined;
    if (only && !only.result.files?.length) return void keep(only.host, only.result);
    const filesOf = this.stmt("SELECT files FROM steps WHERE rollout_id = ? AND host = ?");
    this.atomically(() => {
      for (const { host, result: x } of results) {
        if (!x.files?.length) {
          keep(host, x);
          continue;
        }
        const row = filesOf.get(rolloutId, host) as Row | undefined;
        const files = mergeStepFiles(parseStepFiles(String(row?.files ?? "")), x.files);
        stmt.run(x.outcome, x.ok ? 1 : 0, x.reason, x.evidence, x.probesSent, x.probesFailed, x.probesRefused, now, x.previousSha256 ?? "", x.newSha256 ?? "", files.length ? JSON.stringify(files) : "", x.diff ?? "", rolloutId, host);
      }
    });
  }

  skipPendingSteps(rolloutId: number): string[] {
    return this.atomically(() => {
      const hosts = (this.stmt("SELECT host FROM steps WHERE rollout_id = ? AND status = 'pending' ORDER BY position").all(rolloutId) as Row[]).map((r) => String(r.host));
      this.stmt("UPDATE steps SET status = 'skipped' WHERE rollout_id = ? AND status = 'pending'").run(rolloutId);
      return hosts;
    });
  }

  finishRollout(rolloutId: number, state: Exclude<RolloutState, "running" | "interrupted">, summary: string, now: number): RolloutRecord {
    return this.atomically(() => {
      this.stmt("UPDATE rollouts SET state = ?, summary = ?, finished_at = ? WHERE id = ?").run(state, summary, now, rolloutId);
      this.unlock(rolloutId);
      return this.getRollout(rolloutId)!;
    });
  }

  addEvent(rolloutId: number, kind: string, host: string, message: string, now: number): EventRecord {
    const id = Number(this.stmt("INSERT INTO events (rollout_id, at, kind, host, message) VALUES (?, ?, ?, ?, ?)").run(rolloutId, now, kind, host, message).lastInsertRowid);
    return { id, rolloutId, at: now, kind, host, message };
  }

  interruptRunning(now: number): RolloutRecord[] {
    return this.atomically(() => {
      const ids = (this.stmt("SELECT id FROM rollouts WHERE state = 'running'").all() as Row[]).map((r) => Number(r.id));
      return ids.map((id) => this.interruptRollout(id, now, "the controller stopped during this rollout"));
    });
  }

  interruptRollout(id: number, now: number, why: string): RolloutRecord {
    return this.atomically(() => {
      this.stmt("UPDATE rollouts SET state = 'interrupted', finished_at = ?, summary = ? WHERE id = ?").run(now, `${why}; fleet resume ${id} finishes the hosts not done`, id);
      this.unlock(id);
      this.stmt("INSERT INTO events (rollout_id, at, kind, host, message) VALUES (?, ?, 'interrupted', '', ?)").run(id, now, why);
      return this.getRollout(id)!;
    });
  }

  getRollout(id: number): RolloutRecord | undefined {
    const row = this.stmt(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts r WHERE r.id = ?`).get(id) as Row | undefined;
    return row ? toRollout(row) : undefined;
  }

  listRollouts(filter: { group?: string; limit: number; beforeId?: number }): RolloutRecord[] {
    const before = filter.beforeId ?? Number.MAX_SAFE_INTEGER;
    const rows = filter.group
      ? this.stmt(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts r WHERE r.grp = ? AND r.id < ? ORDER BY r.id DESC LIMIT ?`).all(filter.group, before, filter.limit)
      : this.stmt(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts r WHERE r.id < ? ORDER BY r.id DESC LIMIT ?`).all(before, filter.limit);
    return (rows as Row[]).map(toRollout);
  }

  getSteps(rolloutId: number): StepRecord[] {
    return (this.stmt("SELECT * FROM steps WHERE rollout_id = ? ORDER BY position").all(rolloutId) as Row[]).map((r) => ({
      rolloutId,
      host: String(r.host),
      batch: Number(r.batch),
      canary: r.canary === 1,
      position: Number(r.position),
      status: r.status as StepRecord["status"],
      outcome: r.outcome as StepRecord["outcome"],
      ok: r.ok === 1,
      reason: String(r.reason),
      evidence: String(r.evidence),
      probesSent: Number(r.probes_sent),
      probesFailed: Number(r.probes_failed),
      probesRefused: Number(r.probes_refused),
      startedAt: r.started_at === null ? null : Number(r.started_at),
      finishedAt: r.finished_at === null ? null : Number(r.finished_at),
      previousSha256: String(r.previous_sha256),
      newSha256: String(r.new_sha256),
      targetSha256: String(r.target_sha256),
      hostName: String(r.host_name),
      files: parseStepFiles(String(r.files)),
      diff: String(r.diff),
    }));
  }

  getEvents(rolloutId: number, limit = 10_000): EventRecord[] {
    return (this.stmt("SELECT * FROM events WHERE rollout_id = ? ORDER BY id LIMIT ?").all(rolloutId, limit) as Row[]).map((r) => ({
      id: Number(r.id),
      rolloutId,
      at: Number(r.at),
      kind: String(r.kind),
      host: String(r.host),
      message: String(r.message),
    }));
  }

  linkedRollouts(parentId: number): RolloutRecord[] {
    return (this.stmt(`SELECT ${ROLLOUT_COLUMNS} FROM rollouts r WHERE r.parent_id = ? ORDER BY r.id`).all(parentId) as Row[]).map(toRollout);
  }

  saveConfigVersion(content: Buffer, now: number): string {
    const hash = createHash("sha256").update(content).digest("hex");
    this.stmt("INSERT OR IGNORE INTO config_versions (sha256, content, size, created_at) VALUES (?, ?, ?, ?)").run(hash, content, content.length, now);
    return hash;
  }

  getConfigVersion(sha256: string): Buffer | undefined {
    const row = this.stmt("SELECT content FROM config_versions WHERE sha256 = ?").get(sha256) as Row | undefined;
    return row ? (row.content as Buffer) : undefined;
  }

  setDesiredFiles(host: string, service: string, files: { path: string; sha256: string }[], rolloutId: number, now: number): void {
    const upsert = this.stmt(
      `INSERT INTO desired_files (host, service, path, sha256, rollout_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (host, service, path) DO UPDATE SET sha256 = excluded.sha256, rollout_id = excluded.rollout_id, updated_at = excluded.updated_at`,
    );
    this.atomically(() => files.forEach((f) => upsert.run(host, service, f.path, f.sha256, rolloutId, now)));
  }

  desiredFiles(host: string, service: string): DesiredFile[] {
    return (this.stmt("SELECT * FROM desired_files WHERE host = ? AND service = ? ORDER BY path").all(host, service) as Row[]).map((r) => ({
      path: String(r.path),
      sha256: String(r.sha256),
      rolloutId: Number(r.rollout_id),
      updatedAt: Number(r.updated_at),
    }));
  }

  scheduleState(name: string): { paused: boolean; lastSuccessSourceSha256: string } {
    const row = this.stmt("SELECT * FROM schedule_state WHERE name = ?").get(name) as Row | undefined;
    return { paused: row?.paused === 1, lastSuccessSourceSha256: String(row?.last_success_source_sha256 ?? "") };
  }

  setSchedulePaused(name: string, paused: boolean): void {
    this.db
      .prepare("INSERT INTO schedule_state (name, paused) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET paused = excluded.paused")
      .run(name, paused ? 1 : 0);
  }

  setScheduleSuccess(name: string, sourceSha256: string): void {
    this.db
      .prepare("INSERT INTO schedule_state (name, last_success_source_sha256) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_success_source_sha256 = excluded.last_success_source_sha256")
      .run(name, sourceSha256);
  }

  recordScheduleRun(run: ScheduleRun): void {
    this.stmt("INSERT INTO schedule_runs (name, at, outcome, rollout_id, reason) VALUES (?, ?, ?, ?, ?)").run(run.name, run.at, run.outcome, run.rolloutId, run.reason);
  }

  lastScheduleRun(name: string): ScheduleRun | undefined {
    return this.scheduleRuns(name, 1)[0];
  }

  scheduleRuns(name: string, limit: number): ScheduleRun[] {
    return (this.stmt("SELECT * FROM schedule_runs WHERE name = ? ORDER BY id DESC LIMIT ?").all(name, limit) as Row[]).map((r) => ({
      name: String(r.name),
      at: Number(r.at),
      outcome: r.outcome as ScheduleRun["outcome"],
      rolloutId: r.rollout_id === null ? null : Number(r.rollout_id),
      reason: String(r.reason),
    }));
  }

  close(): void {
    this.db.close();
  }
}

function toRollout(r: Row): RolloutRecord {
  return {
    id: Number(r.id),
    kind: r.kind as RolloutRecord["kind"],
    parentId: r.parent_id === null ? null : Number(r.parent_id),
    configPath: String(r.config_path),
    configSha256: String(r.config_sha256),
    schedule: String(r.schedule),
    group: String(r.grp),
    service: String(r.service),
    state: r.state as RolloutState,
    reason: String(r.reason),
    requestedBy: String(r.requested_by),
    requestedFrom: String(r.requested_from),
    policy: String(r.policy),
    allowRestart: r.allow_restart === 1,
    createdAt: Number(r.created_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    summary: String(r.summary),
    hostsTotal: Number(r.hosts_total),
    hostsOk: Number(r.hosts_ok),
    hostsFailed: Number(r.hosts_failed),
    hostsSkipped: Number(r.hosts_skipped),
    hostsUnverified: Number(r.hosts_unverified),
    preflight: String(r.preflight ?? ""),
  };
}

// One controller per history database. A controller takes the database's
// lease before it touches anything else in it — before the migrations, before
// it marks rollouts left running as interrupted — and renews it every few
// seconds; a second controller on the same database is refused, naming the
// holder. The lease is a row in the database itself (SQLite has no lock that
// outlives a transaction without locking readers out — Litestream must keep
// reading — and Node has no flock), taken in an IMMEDIATE transaction.
//
// A holder is gone when its renewals stopped for `staleMs`, or at once when it
// was on this host and its process is dead (kill -9, then a restart) or had
// this process's pid before this process started (a container's pid 1).
// A holder that finds on renewal that another took the lease (it was frozen
// past `staleMs`) is told, and must stop writing.
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";

export interface LeaseHolder {
  token: string;
  pid: number;
  hostname: string;
  /** When the holder's process started (ms since the epoch): tells a pid reused by a new process from the same one. */
  startedAt: number;
  renewedAt: number;
}

export interface LeaseTiming {
  renewMs: number;
  staleMs: number;
}

export const LEASE_TIMING: LeaseTiming = { renewMs: 2000, staleMs: 10_000 };

/** Pure: whether `me` may take the lease `held` describes, and if not, why (in words for the operator). */
export function leaseVerdict(held: LeaseHolder | undefined, me: Omit<LeaseHolder, "renewedAt">, now: number, staleMs: number, isAlive: (pid: number) => boolean): { take: true } | { take: false; why: string } {
  if (!held || held.token === me.token) return { take: true };
  if (now - held.renewedAt > staleMs) return { take: true };
  if (held.hostname === me.hostname) {
    if (held.pid === me.pid && held.startedAt !== me.startedAt) return { take: true };
    if (held.pid !== me.pid && !isAlive(held.pid)) return { take: true };
  }
  const who = held.pid === me.pid && held.hostname === me.hostname ? "another controller in this process" : `fleet-controller pid ${held.pid} on ${held.hostname}`;
  return {
    take: false,
    why: `${who} (started ${new Date(held.startedAt).toISOString()}, last seen ${Math.max(0, Math.round((now - held.renewedAt) / 1000))}s ago) is using this history database; one controller per database — stop that one first (its lease is given up after ${staleMs / 1000}s without renewal)`,
  };
}

/** The database is in use by another live controller. */
export class LeaseHeldError extends Error {
  constructor(file: string, why: string) {
    super(`${file}: ${why}`);
    this.name = "LeaseHeldError";
  }
}

type Row = Record<string, unknown>;

export class ControllerLease {
  private readonly db: Database.Database;
  private readonly me: Omit<LeaseHolder, "renewedAt">;
  private timer: NodeJS.Timeout | undefined;
  private missed = 0;
  private released = false;

  /**
   * Takes the lease of `file` or throws LeaseHeldError. `onLost` is called
   * once if a renewal finds another controller holds it now.
   */
  static take(file: string, onLost: (why: string) => void, onRenewalFailed: (err: Error, missed: number) => void, timing: LeaseTiming = LEASE_TIMING): ControllerLease {
    return new ControllerLease(file, onLost, onRenewalFailed, timing);
  }

  private constructor(
    private readonly file: string,
    private readonly onLost: (why: string) => void,
    private readonly onRenewalFailed: (err: Error, missed: number) => void,
    private readonly timing: LeaseTiming,
  ) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    // Start-up may wait for another writer; renewals then wait briefly (they are retried).
    this.db = new Database(file, { timeout: 5000 });
    this.me = { token: randomUUID(), pid: process.pid, hostname: os.hostname(), startedAt: Math.round(performance.timeOrigin) };
    try {
      this.db.pragma("journal_mode = WAL");
      // Its own table, not a migration: the lease is taken before the migrations run.
      this.db.exec(`CREATE TABLE IF NOT EXISTS controller_lease (
        id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL, pid INTEGER NOT NULL, hostname TEXT NOT NULL,
        started_at INTEGER NOT NULL, renewed_at INTEGER NOT NULL)`);
      this.db.transaction(() => this.acquire()).immediate();
      this.db.pragma("busy_timeout = 200");
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.timer = setInterval(() => this.renew(), timing.renewMs);
    this.timer.unref();
  }

  private acquire() {
    const row = this.db.prepare("SELECT * FROM controller_lease WHERE id = 1").get() as Row | undefined;
    const held = row && { token: String(row.token), pid: Number(row.pid), hostname: String(row.hostname), startedAt: Number(row.started_at), renewedAt: Number(row.renewed_at) };
    const verdict = leaseVerdict(held, this.me, Date.now(), this.timing.staleMs, isAlive);
    if (!verdict.take) throw new LeaseHeldError(this.file, verdict.why);
    this.db
      .prepare("INSERT OR REPLACE INTO controller_lease (id, token, pid, hostname, started_at, renewed_at) VALUES (1, ?, ?, ?, ?, ?)")
      .run(this.me.token, this.me.pid, this.me.hostname, this.me.startedAt, Date.now());
  }

  private renew() {
    try {
      const changed = this.db.prepare("UPDATE controller_lease SET renewed_at = ? WHERE id = 1 AND token = ?").run(Date.now(), this.me.token).changes;
      this.missed = 0;
      if (changed === 0) this.lose();
    } catch (err) {
      // A busy or full database: missed renewals are allowed up to staleMs.
      this.onRenewalFailed(err instanceof Error ? err : new Error(String(err)), ++this.missed);
    }
  }

  private lose() {
    const row = this.db.prepare("SELECT pid, hostname FROM controller_lease WHERE id = 1").get() as Row | undefined;
    this.stopRenewing();
    this.onLost(row ? `fleet-controller pid ${String(row.pid)} on ${String(row.hostname)} took over the history database (this controller missed its renewals for over ${this.timing.staleMs / 1000}s)` : "the lease row was removed by someone else");
  }

  private stopRenewing() {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** At shutdown, after the last write: the next controller may start at once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.stopRenewing();
    try {
      this.db.prepare("DELETE FROM controller_lease WHERE id = 1 AND token = ?").run(this.me.token);
    } catch {
      // Left to go stale (or to the dead-process check at the next start).
    }
    this.db.close();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

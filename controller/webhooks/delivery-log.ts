// Where webhook delivery attempts are recorded: the history database, through
// a connection of its own (the history store owns the schema and migrates it
// first). SQLite in WAL mode serialises the two connections' writes.
import Database from "better-sqlite3";
import { BUSY_MS } from "../history/sqlite-history-store.js";

export type AttemptResult = "delivered" | "failed" | "gave_up" | "dropped";

export interface DeliveryAttempt {
  deliveryId: string;
  rolloutId: number | null;
  schedule: string;
  endpoint: string;
  event: string;
  attempt: number;
  at: number;
  result: AttemptResult;
  httpStatus: number;
  error: string;
  durationMs: number;
}

export interface DeliveryLog {
  record(a: DeliveryAttempt): void;
  forRollout(rolloutId: number, limit?: number): DeliveryAttempt[];
}

type Row = Record<string, unknown>;

export class SqliteDeliveryLog implements DeliveryLog {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly byRollout: Database.Statement;

  /** `file` is the history database, already migrated by the history store. */
  constructor(file: string, options: { walAutocheckpoint?: number } = {}) {
    this.db = new Database(file, { timeout: 5000, fileMustExist: true });
    if (options.walAutocheckpoint !== undefined) this.db.pragma(`wal_autocheckpoint = ${Math.trunc(options.walAutocheckpoint)}`);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    if (!this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'webhook_deliveries'").get()) {
      this.db.close();
      throw new Error(`${file}: no webhook_deliveries table; the history store migrates the database before webhooks start`);
    }
    this.insert = this.db.prepare(
      `INSERT INTO webhook_deliveries (delivery_id, rollout_id, schedule, endpoint, event, attempt, at, result, http_status, error, duration_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.byRollout = this.db.prepare("SELECT * FROM webhook_deliveries WHERE rollout_id = ? ORDER BY id LIMIT ?");
    // Like the history's writes: a database locked by another process fails a record fast (logged), never freezing the controller.
    this.db.pragma(`busy_timeout = ${BUSY_MS}`);
  }

  record(a: DeliveryAttempt): void {
    this.insert.run(a.deliveryId, a.rolloutId, a.schedule, a.endpoint, a.event, a.attempt, a.at, a.result, a.httpStatus, a.error.slice(0, 500), a.durationMs);
  }

  forRollout(rolloutId: number, limit = 1000): DeliveryAttempt[] {
    return (this.byRollout.all(rolloutId, limit) as Row[]).map((r) => ({
      deliveryId: String(r.delivery_id),
      rolloutId: r.rollout_id === null ? null : Number(r.rollout_id),
      schedule: String(r.schedule),
      endpoint: String(r.endpoint),
      event: String(r.event),
      attempt: Number(r.attempt),
      at: Number(r.at),
      result: r.result as AttemptResult,
      httpStatus: Number(r.http_status),
      error: String(r.error),
      durationMs: Number(r.duration_ms),
    }));
  }

  close(): void {
    this.db.close();
  }
}

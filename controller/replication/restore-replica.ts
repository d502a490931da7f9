// Takeover: `fleet-controller --restore-from REPLICA` puts the newest history
// from a Litestream replica in place of controller.db. Litestream restores into
// a scratch directory beside the database; the copy is checked (SQLite's
// quick_check, a fleet database, the replica's marker agrees) and only then
// renamed into place, so a failed restore leaves nothing half-written. An
// existing database is refused unless forced, and then kept aside, not deleted.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { processGroupRunner } from "../../agent/process/command-runner.js";
import { formatEpoch } from "../../common/controller-epoch.js";
import type { Logger } from "../../common/logger.js";
import { readControllerStart } from "./controller-starts.js";
import { readMarker } from "./replica-marker.js";
import { replicaTarget } from "./replicate-config.js";
import { findLitestream } from "./start-replication.js";

const RESTORE_TIMEOUT_MS = 30 * 60_000;

export class RestoreRefused extends Error {}

export async function restoreFromReplica(o: { from: string; db: string; force: boolean; logger: Logger; binary?: string }): Promise<{ databaseId: string }> {
  const target = replicaTarget(o.from);
  if ("problem" in target) throw new RestoreRefused(`--restore-from ${target.problem}`);
  const existing = [o.db, `${o.db}-wal`].filter((f) => existsSync(f));
  if (existing.length && !o.force) {
    throw new RestoreRefused(`${o.db} already exists (controller.db); --restore-from would replace this controller's history. Move it away, or add --force (it is then kept as ${o.db}.replaced-TIME)`);
  }
  mkdirSync(path.dirname(o.db), { recursive: true, mode: 0o750 });
  const scratch = mkdtempSync(path.join(path.dirname(o.db), ".restore-"));
  try {
    const restored = path.join(scratch, "history.db");
    const url = target.dir ? `file://${target.dir}` : target.url;
    o.logger.info("restoring the history from the replica", { from: o.from });
    const r = await processGroupRunner.run([o.binary ?? findLitestream(), "restore", "-o", restored, url], { timeoutMs: RESTORE_TIMEOUT_MS });
    if (r.exitCode !== 0 || !existsSync(restored)) {
      throw new RestoreRefused(`litestream could not restore ${o.from}: ${r.timedOut ? "timed out" : (/error="([^"]+)"/.exec(r.output)?.[1] ?? r.output.trim().split("\n").at(-1) ?? `exit ${r.exitCode}`)}`);
    }
    const databaseId = checkRestored(restored, target.dir);
    const start = readControllerStart(restored);
    if (existing.length) keepAside(o.db, o.logger);
    // Litestream's local state belongs to the database being replaced (https://litestream.io/tips/).
    rmSync(path.join(path.dirname(o.db), `.${path.basename(o.db)}-litestream`), { recursive: true, force: true });
    renameSync(restored, o.db);
    o.logger.info("history restored", { from: o.from, db: o.db, database: databaseId, replaced_epoch: start.epoch ? formatEpoch(start.epoch) : "none" });
    return { databaseId };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The restored file is a sound fleet history, and the replica's marker (if any) names the same database. */
function checkRestored(file: string, dir: string | undefined): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const check = db.pragma("quick_check", { simple: true });
    if (check !== "ok") throw new RestoreRefused(`the restored copy fails SQLite's quick_check (${String(check)}); nothing was replaced`);
  } finally {
    db.close();
  }
  const { controllerId } = readControllerStart(file);
  const marker = dir ? readMarker(dir) : undefined;
  if (marker && marker.database_id !== controllerId) throw new RestoreRefused(`the replica's fleet-replica.json names database ${marker.database_id} but the restored copy is ${controllerId}; nothing was replaced`);
  return controllerId;
}

function keepAside(db: string, logger: Logger): void {
  const suffix = `.replaced-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  for (const f of [db, `${db}-wal`, `${db}-shm`]) if (existsSync(f)) renameSync(f, f + suffix);
  logger.warn("the existing history database was kept aside (--force)", { kept: db + suffix });
}

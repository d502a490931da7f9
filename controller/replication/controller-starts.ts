// Each controller start is a row in the history database (controller_starts):
// the newest row's (takeover, start) is this controller's epoch, and the
// database's instance id is its identity. Both replicate with the database, so
// a standby restored from the replica continues the same identity (the agents'
// request ids stay the same) at a newer epoch.
import os from "node:os";
import Database from "better-sqlite3";
import { nextEpoch, type ControllerEpoch } from "../../common/controller-epoch.js";

export interface ControllerStart {
  controllerId: string;
  epoch: ControllerEpoch;
  /** The epoch of the previous start, if there was one. */
  previous?: ControllerEpoch;
}

/** Records a start in `dbFile` (already migrated by the history store) and returns the new epoch. */
export function recordControllerStart(dbFile: string, options: { takeover: boolean; restoredFrom?: string; now?: number }): ControllerStart {
  const db = new Database(dbFile, { timeout: 5000, fileMustExist: true });
  try {
    return db.transaction(() => {
      const id = db.prepare("SELECT value FROM meta WHERE key = 'instance_id'").get() as { value: string } | undefined;
      if (!id) throw new Error(`${dbFile} has no instance id; it is not a fleet history database`);
      const last = db.prepare("SELECT takeover, start FROM controller_starts ORDER BY id DESC LIMIT 1").get() as ControllerEpoch | undefined;
      const epoch = nextEpoch(last ?? { takeover: 0, start: 0 }, options.takeover);
      db.prepare("INSERT INTO controller_starts (takeover, start, at, host, restored_from) VALUES (?, ?, ?, ?, ?)").run(epoch.takeover, epoch.start, options.now ?? Date.now(), os.hostname(), options.restoredFrom ?? "");
      return { controllerId: id.value, epoch, previous: last ? { takeover: last.takeover, start: last.start } : undefined };
    }).immediate();
  } finally {
    db.close();
  }
}

/** The identity and newest epoch recorded in a database, without changing it (a restored copy, before it starts). */
export function readControllerStart(dbFile: string): { controllerId: string; epoch?: ControllerEpoch } {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const id = db.prepare("SELECT value FROM meta WHERE key = 'instance_id'").get() as { value: string } | undefined;
    if (!id) throw new Error(`${dbFile} has no instance id; it is not a fleet history database`);
    const hasStarts = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'controller_starts'").get();
    const last = hasStarts ? (db.prepare("SELECT takeover, start FROM controller_starts ORDER BY id DESC LIMIT 1").get() as ControllerEpoch | undefined) : undefined;
    return { controllerId: id.value, epoch: last ? { takeover: last.takeover, start: last.start } : undefined };
  } finally {
    db.close();
  }
}

// fleet-replica.json, kept in a directory replica: which database the replica
// belongs to (its instance id, which is also the controller identity the
// agents know) and the newest controller epoch that replicated into it. A
// controller refuses to replicate onto another database's replica, onto a
// directory that holds something else, or onto a replica a newer controller
// of its own database writes (it is a stale copy: a standby took over).
import { randomBytes } from "node:crypto";
import { mkdirSync, openSync, fsyncSync, closeSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { compareEpochs, formatEpoch, parseEpoch, type ControllerEpoch } from "../../common/controller-epoch.js";

export const MARKER_FILE = "fleet-replica.json";

export interface ReplicaMarker {
  database_id: string;
  epoch: string;
  host: string;
  db: string;
  updated_at: string;
}

export interface Replicator {
  databaseId: string;
  epoch: ControllerEpoch;
}

/** Pure: may `me` replicate into a directory holding `marker` (and other entries)? */
export function markerVerdict(dir: string, marker: ReplicaMarker | undefined, otherEntries: string[], me: Replicator): { ok: true } | { ok: false; why: string } {
  if (!marker) {
    if (otherEntries.length === 0) return { ok: true };
    return { ok: false, why: `replicate.to ${dir} is not empty (${otherEntries.slice(0, 3).join(", ")}${otherEntries.length > 3 ? ", ..." : ""}) and has no ${MARKER_FILE}: it is not known to be this database's replica; use an empty directory` };
  }
  if (marker.database_id !== me.databaseId) {
    return {
      ok: false,
      why: `replicate.to ${dir} is the replica of another database (${marker.database_id}, written from ${marker.host || "?"} ${marker.db}); this controller's database is ${me.databaseId}. Refusing to replicate onto it: choose another directory (or restore from it with --restore-from)`,
    };
  }
  const theirs = parseEpoch(marker.epoch);
  if (theirs && compareEpochs(theirs, me.epoch) > 0) {
    return {
      ok: false,
      why: `replicate.to ${dir} is written by a newer controller of this database (epoch ${marker.epoch}, on ${marker.host || "?"}); this controller is at epoch ${formatEpoch(me.epoch)}: it is a stale copy, another controller took over. Do not start it; restore from the replica instead`,
    };
  }
  return { ok: true };
}

/** Creates the directory (0700) if needed, checks the marker, and writes ours (temp file, fsync, rename). Throws the refusal. */
export function claimDirectoryReplica(dir: string, me: Replicator, db: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, MARKER_FILE);
  let marker: ReplicaMarker | undefined;
  try {
    marker = JSON.parse(readFileSync(file, "utf8")) as ReplicaMarker;
    if (typeof marker?.database_id !== "string") throw new Error("no database_id");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`${file} cannot be read (${(err as Error).message}); refusing to replicate onto a replica fleet cannot identify`);
    marker = undefined;
  }
  const others = readdirSync(dir).filter((n) => n !== MARKER_FILE && !n.startsWith(`.${MARKER_FILE}.`));
  const verdict = markerVerdict(dir, marker, others, me);
  if (!verdict.ok) throw new Error(verdict.why);
  const next: ReplicaMarker = { database_id: me.databaseId, epoch: formatEpoch(me.epoch), host: os.hostname(), db, updated_at: new Date().toISOString() };
  writeAtomically(file, JSON.stringify(next, null, 2) + "\n");
}

/** Reads the marker of a directory replica, if it has one. */
export function readMarker(dir: string): ReplicaMarker | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, MARKER_FILE), "utf8")) as ReplicaMarker;
  } catch {
    return undefined;
  }
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${path.dirname(file)}/.${path.basename(file)}.${randomBytes(6).toString("hex")}`;
  try {
    const fd = openSync(tmp, "wx", 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    const dirFd = openSync(path.dirname(file), "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

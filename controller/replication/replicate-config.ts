// fleet.yaml's `replicate:` block: where Litestream streams the history
// database, and how often. Pure: checks the shape and names every problem.
import path from "node:path";
import { Problems, duration, noUnknownKeys, record, string } from "../../common/field-checks.js";

export interface ReplicateConfig {
  /** As written in fleet.yaml. */
  to: string;
  /** A directory (a path or a file:// URL): the replica fleet can mark as this database's. */
  dir?: string;
  /** What Litestream is given: the directory, or the object-storage URL. */
  url: string;
  syncIntervalMs: number;
}

export const DEFAULT_SYNC_INTERVAL_MS = 1000;
/** The replica URL schemes Litestream 0.3 replicates to. */
const SCHEMES = ["file", "s3", "gs", "abs", "sftp"];

export function parseReplicateConfig(raw: unknown, db: string, p: Problems): ReplicateConfig | undefined {
  const at = ["replicate"];
  const r = record(raw, at, p);
  if (!r) return undefined;
  noUnknownKeys(r, ["to", "sync_interval"], at, p);
  const syncIntervalMs = r.sync_interval === undefined ? DEFAULT_SYNC_INTERVAL_MS : duration(r.sync_interval, [...at, "sync_interval"], p, 3_600_000);
  const tooShort = syncIntervalMs !== undefined && syncIntervalMs < 100 && p.add([...at, "sync_interval"], "must be at least 100ms") === undefined;
  const to = string(r.to, [...at, "to"], p);
  if (!to || syncIntervalMs === undefined || tooShort) return undefined;
  const replica = replicaTarget(to);
  if ("problem" in replica) return p.add([...at, "to"], replica.problem);
  if (replica.dir && (replica.dir === path.dirname(db) || db.startsWith(replica.dir + "/"))) {
    return p.add([...at, "to"], `${replica.dir} holds the database itself (${db}); a replica belongs on another disk or machine`);
  }
  return { to, ...replica, syncIntervalMs };
}

/** A path or file:// URL is a directory replica; s3://, gs://, abs://, sftp:// go to Litestream as they are. */
export function replicaTarget(to: string): { dir?: string; url: string } | { problem: string } {
  if (to.startsWith("/")) {
    const dir = path.normalize(to).replace(/\/+$/, "");
    if (!dir || dir !== to.replace(/\/+$/, "")) return { problem: `must be a normalized absolute directory other than /, got ${JSON.stringify(to)}` };
    return { dir, url: dir };
  }
  const m = /^([a-z0-9]+):\/\/(.*)$/.exec(to);
  if (!m || !SCHEMES.includes(m[1]!)) return { problem: `must be an absolute directory or a URL (${SCHEMES.map((s) => `${s}://`).join(", ")}), got ${JSON.stringify(to)}` };
  if (m[1] === "file") {
    const p = decodeURIComponent(m[2]!);
    if (!p.startsWith("/")) return { problem: `a file:// URL needs an absolute path (file:///srv/replica), got ${JSON.stringify(to)}` };
    return replicaTarget(p);
  }
  if (!m[2]) return { problem: `${JSON.stringify(to)} names no bucket or host` };
  return { url: to };
}

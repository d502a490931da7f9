// Replication as the controller runs it: claims the replica (fleet-replica.json),
// runs Litestream under a supervisor with a generated config, and samples
// Litestream's positions every second to know the replication lag.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { formatEpoch, type ControllerEpoch } from "../../common/controller-epoch.js";
import { freePort } from "../../common/free-port.js";
import type { Logger } from "../../common/logger.js";
import { litestreamConfig } from "./litestream-config.js";
import { LitestreamSupervisor, type SupervisorStatus } from "./litestream-supervisor.js";
import { claimDirectoryReplica } from "./replica-marker.js";
import type { ReplicateConfig } from "./replicate-config.js";
import { ReplicationLag, type LagSample } from "./replication-lag.js";

export interface ReplicationStatus {
  to: string;
  syncIntervalMs: number;
  litestream: SupervisorStatus;
  lagSeconds: number;
  /** When the replica was last seen holding every write up to then (ms), 0 if not yet. */
  lastConfirmedAtMs: number;
  /** Why the positions could not be read at the last sample ("" when they could). */
  sampleError: string;
}

export interface RunningReplication {
  status(): ReplicationStatus;
  /** A history write was committed (for the lag). */
  noteWrite(now: number): void;
  /** Stops Litestream after its final sync (SIGKILL after `graceMs`). */
  stop(graceMs: number): Promise<void>;
}

const SAMPLE_EVERY_MS = 1000;

export async function startReplication(o: { db: string; replicate: ReplicateConfig; controllerId: string; epoch: ControllerEpoch; logger: Logger; binary?: string }): Promise<RunningReplication> {
  const { db, replicate, logger } = o;
  if (replicate.dir) claimDirectoryReplica(replicate.dir, { databaseId: o.controllerId, epoch: o.epoch }, db);
  else logger.warn("replicate.to is object storage: fleet cannot mark it, so it does not check that it belongs to this database (it does for a directory)", { to: replicate.to });
  const binary = o.binary ?? findLitestream();
  const base = path.join(path.dirname(db), `.${path.basename(db)}.litestream`);
  let metricsUrl = "";
  const supervisor = new LitestreamSupervisor({
    binary,
    pidFile: `${base}.pid`,
    logger,
    prepare: async () => {
      const port = await freePort();
      writeFileSync(`${base}.yml`, litestreamConfig(db, replicate, port), { mode: 0o600 });
      metricsUrl = `http://127.0.0.1:${port}/metrics`;
      return { args: ["replicate", "-no-expand-env", "-config", `${base}.yml`] };
    },
  });
  await supervisor.start();
  logger.info("replicating the history", { to: replicate.to, sync_interval_ms: replicate.syncIntervalMs, database: o.controllerId, epoch: formatEpoch(o.epoch), litestream: binary });

  const lag = new ReplicationLag();
  lag.noteWrite(Date.now()); // this start's own record
  let sampleError = "not sampled yet";
  let busy = false;
  const timer = setInterval(() => {
    if (busy || supervisor.status().state !== "running") return;
    busy = true;
    sampleLitestream(metricsUrl, db)
      .then((s) => {
        lag.observe(Date.now(), s);
        sampleError = "";
      })
      .catch((err: Error) => (sampleError = err.message))
      .finally(() => (busy = false));
  }, SAMPLE_EVERY_MS);
  timer.unref();

  return {
    status: () => ({
      to: replicate.to,
      syncIntervalMs: replicate.syncIntervalMs,
      litestream: supervisor.status(),
      lagSeconds: lag.lagSeconds(Date.now()),
      lastConfirmedAtMs: lag.lastConfirmedAt ?? 0,
      sampleError,
    }),
    noteWrite: (now) => lag.noteWrite(now),
    async stop(graceMs) {
      clearInterval(timer);
      await supervisor.stop(graceMs);
    },
  };
}

/** Litestream's positions: its /metrics (loopback, 900 ms deadline) and its shadow WAL beside the database. */
async function sampleLitestream(metricsUrl: string, db: string): Promise<LagSample> {
  const abort = new AbortController();
  const deadline = setTimeout(() => abort.abort(), 900);
  let text: string;
  try {
    const res = await fetch(metricsUrl, { signal: abort.signal });
    text = await res.text();
  } finally {
    clearTimeout(deadline);
  }
  const metric = (name: string, absent?: number) => {
    const m = new RegExp(`^${name}\\{[^}]*\\} ([0-9.e+-]+)$`, "m").exec(text);
    if (!m && absent !== undefined) return absent;
    if (!m) throw new Error(`litestream reports no ${name} yet`);
    return Number(m[1]);
  };
  const meta = path.join(path.dirname(db), `.${path.basename(db)}-litestream`);
  const generation = readFileSync(path.join(meta, "generation"), "utf8").trim();
  const shadowIndex = metric("litestream_shadow_wal_index");
  const shadowFile = path.join(meta, "generations", generation, "wal", `${shadowIndex.toString(16).padStart(8, "0")}.wal`);
  return {
    syncs: metric("litestream_sync_count") - metric("litestream_sync_error_count"),
    generation,
    shadowIndex,
    shadowOffset: statSync(shadowFile).size,
    // Absent until this Litestream writes its first segment (nothing new since it started).
    replicaIndex: metric("litestream_replica_wal_index", -1),
    replicaOffset: metric("litestream_replica_wal_offset", -1),
  };
}

/** The packaged binary beside the controller's bundle (/usr/lib/fleet/litestream), else the npm package's. */
export function findLitestream(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, "litestream")];
  try {
    candidates.push(path.join(path.dirname(createRequire(import.meta.url).resolve("@flydotio/litestream-linux-x64/package.json")), "litestream"));
  } catch {
    // not installed from npm
  }
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`replicate: the litestream binary was not found (looked at ${candidates.join(", ")}); install the fleet-controller package or npm install`);
  return found;
}

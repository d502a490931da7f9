// The Litestream configuration the controller generates for its database.
// Pure: YAML text from settings (through the yaml library, so no path or URL
// can break out of its field). Litestream's own defaults are kept for what
// fleet does not set: it checkpoints the WAL (every minute, or at 1,000
// pages), which is why the controller turns SQLite's autocheckpoint off while
// replicating (https://litestream.io/tips/).
import { stringify } from "yaml";
import type { ReplicateConfig } from "./replicate-config.js";

export function litestreamConfig(db: string, replicate: ReplicateConfig, metricsPort: number): string {
  const replica = replicate.dir ? { type: "file", path: replicate.dir } : { url: replicate.url };
  return stringify({
    // Loopback only: the controller reads replication positions from here.
    addr: `127.0.0.1:${metricsPort}`,
    dbs: [{ path: db, replicas: [{ ...replica, "sync-interval": `${replicate.syncIntervalMs}ms` }] }],
  });
}

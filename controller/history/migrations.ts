// Versioned schema migrations; each runs once, in order, in a transaction.
export const MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE rollouts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        grp TEXT NOT NULL,
        service TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        requested_by TEXT NOT NULL DEFAULT '',
        requested_from TEXT NOT NULL DEFAULT '',
        policy TEXT NOT NULL,
        allow_restart INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        finished_at INTEGER,
        summary TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX rollouts_by_group ON rollouts (grp, id DESC);
      CREATE INDEX rollouts_by_state ON rollouts (state);
      CREATE TABLE steps (
        rollout_id INTEGER NOT NULL REFERENCES rollouts (id),
        host TEXT NOT NULL,
        batch INTEGER NOT NULL,
        canary INTEGER NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        outcome TEXT NOT NULL DEFAULT '',
        ok INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT '',
        evidence TEXT NOT NULL DEFAULT '',
        probes_sent INTEGER NOT NULL DEFAULT 0,
        probes_failed INTEGER NOT NULL DEFAULT 0,
        probes_refused INTEGER NOT NULL DEFAULT 0,
        started_at INTEGER,
        finished_at INTEGER,
        PRIMARY KEY (rollout_id, position)
      );
      CREATE UNIQUE INDEX steps_by_host ON steps (rollout_id, host);
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        rollout_id INTEGER NOT NULL REFERENCES rollouts (id),
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        host TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX events_by_rollout ON events (rollout_id, id);
      CREATE TABLE group_locks (
        grp TEXT PRIMARY KEY,
        rollout_id INTEGER NOT NULL,
        holder TEXT NOT NULL,
        acquired_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      ALTER TABLE rollouts ADD COLUMN parent_id INTEGER REFERENCES rollouts (id);
      ALTER TABLE rollouts ADD COLUMN config_path TEXT NOT NULL DEFAULT '';
      ALTER TABLE rollouts ADD COLUMN config_sha256 TEXT NOT NULL DEFAULT '';
      ALTER TABLE rollouts ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
      CREATE INDEX rollouts_by_parent ON rollouts (parent_id);
      ALTER TABLE steps ADD COLUMN previous_sha256 TEXT NOT NULL DEFAULT '';
      ALTER TABLE steps ADD COLUMN new_sha256 TEXT NOT NULL DEFAULT '';
      CREATE TABLE config_versions (
        sha256 TEXT PRIMARY KEY,
        content BLOB NOT NULL,
        size INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    sql: `
      CREATE TABLE schedule_state (
        name TEXT PRIMARY KEY,
        paused INTEGER NOT NULL DEFAULT 0,
        last_success_source_sha256 TEXT NOT NULL DEFAULT ''
      );
      CREATE TABLE schedule_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        at INTEGER NOT NULL,
        -- started, unchanged or skipped
        outcome TEXT NOT NULL,
        rollout_id INTEGER REFERENCES rollouts (id),
        reason TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX schedule_runs_by_name ON schedule_runs (name, id DESC);
    `,
  },
  {
    // Webhook delivery attempts, one row per attempt (controller/webhooks).
    version: 4,
    sql: `
      CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id TEXT NOT NULL,
        rollout_id INTEGER REFERENCES rollouts (id),
        schedule TEXT NOT NULL DEFAULT '',
        endpoint TEXT NOT NULL,
        event TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        at INTEGER NOT NULL,
        -- delivered, failed (retried), gave_up (last attempt), dropped (queue full)
        result TEXT NOT NULL,
        http_status INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        duration_ms INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX webhook_deliveries_by_rollout ON webhook_deliveries (rollout_id, id);
    `,
  },
  {
    version: 5,
    sql: `
      -- A restore step records the version it puts back before the agent is asked,
      -- so an interrupted restore resumes as that restore and nothing else.
      ALTER TABLE steps ADD COLUMN target_sha256 TEXT NOT NULL DEFAULT '';
      -- A host (agent address + service) is in at most one running rollout.
      CREATE TABLE host_locks (
        host TEXT NOT NULL,
        service TEXT NOT NULL,
        rollout_id INTEGER NOT NULL,
        grp TEXT NOT NULL,
        holder TEXT NOT NULL,
        acquired_at INTEGER NOT NULL,
        PRIMARY KEY (host, service)
      );
      CREATE INDEX host_locks_by_rollout ON host_locks (rollout_id);
    `,
  },
  {
    // Config rollouts of file sets, host names, drift (issue 13).
    version: 6,
    sql: `
      -- The inventory name of a step's host (host stays the agent address: locks and request ids use it).
      ALTER TABLE steps ADD COLUMN host_name TEXT NOT NULL DEFAULT '';
      -- A config step's file set as JSON, per path: the version to push or restore (target),
      -- and what the agent reported before and after (previous, new).
      ALTER TABLE steps ADD COLUMN files TEXT NOT NULL DEFAULT '';
      -- The unified diff the push applied on this host, capped.
      ALTER TABLE steps ADD COLUMN diff TEXT NOT NULL DEFAULT '';
      -- Desired state: per host (agent address), service and path, the hash fleet last installed or restored.
      CREATE TABLE desired_files (
        host TEXT NOT NULL,
        service TEXT NOT NULL,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        rollout_id INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (host, service, path)
      );
    `,
  },
  {
    // Fencing: one row per controller start; the newest row is this controller's epoch
    // (takeover, start), sent with every mutating agent call. In the database, so it
    // replicates and a standby restored from the replica starts above it.
    version: 7,
    sql: `
      CREATE TABLE controller_starts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        takeover INTEGER NOT NULL,
        start INTEGER NOT NULL,
        at INTEGER NOT NULL,
        host TEXT NOT NULL DEFAULT '',
        -- the replica a takeover was restored from; '' for an ordinary start
        restored_from TEXT NOT NULL DEFAULT ''
      );
    `,
  },
  {
    // The preflight's report of a rollout's last run (JSON): which hosts failed it and whether it refused the rollout.
    version: 8,
    sql: `ALTER TABLE rollouts ADD COLUMN preflight TEXT NOT NULL DEFAULT '';`,
  },
];

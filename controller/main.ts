// fleet-controller: the daemon holding the inventory, the history and the
// rollouts. Reloads its inventory on SIGHUP; on SIGTERM in-flight hosts finish
// and running rollouts are left interrupted, resumable.
import { existsSync } from "node:fs";
import { plural } from "../common/plural.js";
import { parseArgs } from "node:util";
import { readConfigOrExit, reloadOnSighup, stopSignal, untilStopped } from "../common/daemon-lifecycle.js";
import { useLeanAsyncResourceBind } from "../common/lean-async-bind.js";
import { createLogger } from "../common/logger.js";
import { ControllerLease, LeaseHeldError } from "./history/controller-lease.js";
import type { Inventory } from "./inventory/inventory.js";
import { readInventory } from "./inventory/read-inventory.js";
import { restoreFromReplica, RestoreRefused } from "./replication/restore-replica.js";
import { startController } from "./start-controller.js";
import { applyInventory } from "./apply-inventory.js";

const HELP = `fleet-controller — rolls reloads across groups of servers and keeps their history

Usage: fleet-controller [--config /etc/fleet/fleet.yaml] [--check-config]
       fleet-controller --restore-from REPLICA [--force] [--config /etc/fleet/fleet.yaml]

  --restore-from R  takeover on a standby: restore the newest history from the replica R
                    (a directory or a Litestream URL) into controller.db, then serve; rollouts
                    that were running become interrupted (fleet resume ID finishes them) and this
                    controller's epoch outranks every start of the one it replaces
  --force           with --restore-from: replace an existing controller.db (kept as DB.replaced-TIME)

Config file (YAML):
  controller:
    listen: unix:/run/fleet/controller.sock  # both roles; mode 0600 (root), or 0660 with socket_group
    socket_group: fleet-operators            # may read and operate through listen
    read_socket: unix:/run/fleet/controller-read.sock   # optional: grants the read role only
    read_group: fleet-readers                # required with read_socket (mode 0660)
    db: /var/lib/fleet/history.db
  # A TCP listen (loopback included) requires mutual TLS and names the operators' certificates:
  #   controller: { listen: 10.0.0.2:7600, tls: { cert: FILE, key: FILE, ca: FILE },
  #                 operators: { read: [monitoring], operate: [alice, bob] } }
  # read = status, history, show, schedules, watch; operate = everything else (includes read).
  agents: { token_file: /etc/fleet/agent.token, deadline: 5s, reload_deadline: 60s }
  # or tls: { cert: FILE, key: FILE, ca: FILE }   (mutual TLS to the agents; also the
  #   controller's TCP listener unless controller.tls is given)
  # Credential files are read and checked with the config: a missing or unreadable one
  # refuses the start (or the SIGHUP); one removed or replaced later fails the hosts
  # it would be used for, with the reason, until it is back or SIGHUP loads the new one.
  groups:
    web-tier:
      service: nginx
      hosts: [web1.example.net:7601, web2.example.net:7601]
      canary: [web2.example.net:7601]
      policy: { canary: 1, batch: "25%", max_failures: 0, bake: 30s, pause: 0s, accept_unverified: false, approve: false }
      # accept_unverified: true counts "unverified" reloads (no generation evidence) as success
      # approve: true waits after the canary batch and its bake until fleet promote ID (or fleet abort ID)
    edge:
      service: nginx
      vars: { weight: 1 }              # template variables ({{ vars.NAME }}); a host's own vars win
      hosts:                           # a list of addresses, or names -> address | {address, vars, labels}
        edge1: { address: 10.0.0.11:7601, vars: { weight: 3 }, labels: { zone: a } }
        edge2: 10.0.0.12:7601
      canary: [edge1]                  # host names or addresses
      # labels: select with fleet ... --select zone=a,role!=edge; templates see {{ labels.KEY }},
      # {{ host.name }}, {{ host.address }}, {{ group.name }}, {{ group.service }}
  schedules:
    - name: nightly-nginx
      cron: "0 3 * * *"                # 5 fields, or 6 with seconds first
      group: web-tier
      config: { source: /srv/fleet/nginx.conf, path: /etc/nginx/nginx.conf }
      # or a set pushed together: config: [{ source: F, path: P }, { source: T, path: P2, template: true }]
      # an unchanged source runs only on hosts whose files drifted; fleet schedule run NAME --force: all
      policy: { canary: 1, bake: 60s }  # optional overrides of the group's policy
      when_busy: skip                   # or wait (for the group to be free, up to 1h)
  metrics: { listen: 127.0.0.1:9600, agent_check: 60s }   # optional: Prometheus /metrics;
                                    # agent_check: how often every agent is asked for fleet_agent_reachable (0s = off)
  web: { listen: 127.0.0.1:9680 }   # optional: read-only web view with live rollouts
  # Without tls both serve plain HTTP on loopback only. With tls they serve HTTPS on any address:
  #   metrics: { listen: 10.0.0.2:9600, tls: { cert: FILE, key: FILE, ca: FILE } }
  #   web: { listen: 10.0.0.2:9680, tls: true }   # true: the controller's files (controller.tls, else tls)
  # A client certificate from the CA is required; its name needs the read role in
  # controller.operators (operate includes read; operators apply to a unix listen too then).
  replicate:                        # optional: stream the history to a replica with Litestream
    to: /mnt/replica/fleet          # a directory (another disk or a mount), or s3://BUCKET/PATH,
                                    # gs://, abs://, sftp:// (credentials from Litestream's environment)
    sync_interval: 1s               # how often the replica is written: the most history a lost
                                    # machine can lose (default 1s, at least 100ms)
    # The controller runs /usr/lib/fleet/litestream as its child and refuses a directory that holds
    # another database's replica (fleet-replica.json) or one a newer controller writes.
  webhooks:                         # optional: POSTs when rollouts need attention
    - name: oncall
      url: https://hooks.example.net/fleet
      secret_file: /etc/fleet/webhook.secret   # HMAC-SHA256 of the body in X-Fleet-Signature-256: sha256=HEX
      events: [started, halted, failed, interrupted]   # default: all of started, waiting_for_approval,
                                    # halted, finished, failed, aborted, interrupted, schedule_skipped, schedule_failed
      groups: [web-tier]            # optional: only these groups' rollouts
      format: json                  # or slack: {"text": ...} for an incoming webhook (secret_file optional)
      timeout: 10s                  # per attempt
      deadline: 10m                 # retries (1s, 2s, 4s ... 60s apart) stop this long after the event

One controller per history database: it holds a lease in the database (renewed every 2s); a second
controller on the same db is refused at start, naming the first (pid, host), and so is a listen
socket another process serves. A controller killed with -9 is replaced at once on the same host
(its pid is gone); otherwise its lease lapses 10s after its last renewal.

Signals: SIGHUP re-reads the config (an invalid file or credential is refused, the old one kept;
agent deadlines and credentials apply to running rollouts at once, controller.operators to the next
call and request (an open web event stream of a removed name ends), the files of metrics.tls and
web.tls to new connections (a new ca closes every connection verified under the old one); a
refused SIGHUP changes nothing; controller.listen, sockets, groups, tls, db, metrics.listen, web.listen
and turning metrics/web tls on or off on restart);
SIGTERM lets in-flight hosts finish and leaves running rollouts interrupted (fleet resume ID).`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: "string", default: "/etc/fleet/fleet.yaml" },
      "check-config": { type: "boolean", default: false },
      "restore-from": { type: "string" },
      force: { type: "boolean", default: false },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return console.log(HELP), 0;
  const logger = createLogger({ level: values["log-level"] as "info", write: (l) => process.stdout.write(l + "\n") });
  const file = values.config!;
  const inventory = await readConfigOrExit("fleet-controller", () => readInventory(file));
  if (typeof inventory === "number") return inventory;
  if (values["check-config"]) return console.log(`${file}: ok (${plural(inventory.groups.size, "group")})`), 0;
  if (values.force && !values["restore-from"]) return console.error("fleet-controller: --force only applies with --restore-from"), 2;

  // Caught from here on: a SIGTERM while starting (Litestream may already run) stops in order instead of leaving it behind.
  const stopping = stopSignal();
  const restoredFrom = values["restore-from"];
  if (restoredFrom !== undefined) {
    try {
      // A controller still serving this database must not have it moved from under it (--force).
      if (existsSync(inventory.controller.db)) ControllerLease.take(inventory.controller.db, () => undefined, () => undefined).release();
      await restoreFromReplica({ from: restoredFrom, db: inventory.controller.db, force: values.force!, logger });
    } catch (err) {
      if (!(err instanceof RestoreRefused) && !(err instanceof LeaseHeldError)) throw err;
      console.error(`fleet-controller: ${err.message}`);
      return 2;
    }
  }
  let serving!: (apply: (next: Inventory) => void) => void;
  reloadOnSighup("inventory", () => readInventory(file), new Promise<(next: Inventory) => void>((resolve) => (serving = resolve)), logger);
  // Every call to an agent is an http2 request: see lean-async-bind.ts.
  useLeanAsyncResourceBind();
  const { core, observability, leaseLost } = await startController(inventory, logger, { restoredFrom });

  serving((next) => applyInventory(core, observability, next, logger));

  const takenOver = leaseLost.then(async () => {
    await core.shutdown(0);
    return 1;
  });
  return Promise.race([
    untilStopped(async (sig) => {
      logger.info("shutting down", { signal: sig });
      await core.shutdown(5000);
    }, stopping),
    takenOver,
  ]);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`fleet-controller: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

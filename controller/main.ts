// fleet-controller: the daemon holding the inventory, the history and the
// rollouts. Reloads its inventory on SIGHUP; on SIGTERM in-flight hosts finish
// and running rollouts are left interrupted, resumable.
import { parseArgs } from "node:util";
import { readConfigOrExit, reloadOnSighup, untilStopped } from "../common/daemon-lifecycle.js";
import { createLogger } from "../common/logger.js";
import { ControllerCore } from "./controller-core.js";
import { SqliteHistoryStore } from "./history/sqlite-history-store.js";
import { readInventory } from "./inventory/read-inventory.js";
import { startControllerServer } from "./server/controller-server.js";

const HELP = `fleet-controller — rolls reloads across groups of servers and keeps their history

Usage: fleet-controller [--config /etc/fleet/fleet.yaml] [--check-config]

Config file (YAML):
  controller: { listen: unix:/run/fleet/controller.sock, db: /var/lib/fleet/history.db }
  agents: { token_file: /etc/fleet/agent.token, deadline: 5s, reload_deadline: 60s }
  # or tls: { cert: FILE, key: FILE, ca: FILE }   (mutual TLS to the agents)
  groups:
    web-tier:
      service: nginx
      hosts: [web1.example.net:7601, web2.example.net:7601]
      canary: [web2.example.net:7601]
      policy: { canary: 1, batch: "25%", max_failures: 0, bake: 30s, pause: 0s, accept_unverified: false }
      # accept_unverified: true counts "unverified" reloads (no generation evidence) as success
  schedules:
    - name: nightly-nginx
      cron: "0 3 * * *"                # 5 fields, or 6 with seconds first
      group: web-tier
      config: { source: /srv/fleet/nginx.conf, path: /etc/nginx/nginx.conf }
      policy: { canary: 1, bake: 60s }  # optional overrides of the group's policy
      when_busy: skip                   # or wait (for the group to be free, up to 1h)

Signals: SIGHUP re-reads the config (an invalid file is refused, the old one kept);
SIGTERM lets in-flight hosts finish and leaves running rollouts interrupted (fleet resume ID).`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: "string", default: "/etc/fleet/fleet.yaml" },
      "check-config": { type: "boolean", default: false },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return console.log(HELP), 0;
  const logger = createLogger({ level: values["log-level"] as "info", write: (l) => process.stdout.write(l + "\n") });
  const file = values.config!;
  const inventory = await readConfigOrExit("fleet-controller", () => readInventory(file));
  if (typeof inventory === "number") return inventory;
  if (values["check-config"]) return console.log(`${file}: ok (${inventory.groups.size} groups)`), 0;

  const history = new SqliteHistoryStore(inventory.controller.db);
  for (const r of history.interruptRunning(Date.now())) {
    logger.warn("rollout was interrupted by a controller stop; fleet resume finishes it", { rollout: r.id, group: r.group });
  }
  const core = new ControllerCore(inventory, history, logger);
  const server = await startControllerServer(
    core,
    inventory.controller.listen,
    logger,
    inventory.controller.socketGroup,
    inventory.agents.access.mode === "tls" ? inventory.agents.access : undefined,
  );

  reloadOnSighup("inventory", () => readInventory(file), (next) => {
    if (next.controller.listen !== core.currentInventory.controller.listen || next.controller.db !== core.currentInventory.controller.db) {
      logger.warn("controller.listen and controller.db take effect on restart");
    }
    core.replaceInventory(next);
    logger.info("inventory reloaded", { groups: [...next.groups.keys()] });
  }, logger);

  return untilStopped(async (sig) => {
    logger.info("shutting down", { signal: sig });
    core.scheduler.stop();
    await core.executor.interruptAll();
    await server.shutdown(5000);
    core.close();
    history.close();
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`fleet-controller: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

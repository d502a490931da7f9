// fleet-agent: the daemon on every server. Loads its config, serves gRPC,
// reloads its own config on SIGHUP and shuts down gracefully on SIGTERM.
import { parseArgs } from "node:util";
import { readConfigOrExit, reloadOnSighup, untilStopped } from "../common/daemon-lifecycle.js";
import { createLogger } from "../common/logger.js";
import { AGENT_VERSION, AgentCore } from "./agent-core.js";
import { readAgentConfig } from "./config/read-agent-config.js";
import { execaRunner } from "./process/command-runner.js";
import { SystemdClient } from "./process/systemd-client.js";
import { startAgentServer } from "./server/agent-server.js";

const HELP = `fleet-agent ${AGENT_VERSION} — reloads the services declared in its config and proves the outcome

Usage: fleet-agent [--config /etc/fleet/agent.yaml] [--check-config]

  --config FILE     agent config (default /etc/fleet/agent.yaml)
  --check-config    validate the config, print every problem, and exit
  --log-level L     debug, info, warn or error (default info)

Config file (YAML):
  listen: 0.0.0.0:7601                # or unix:/run/fleet/agent.sock
  tls: { cert: FILE, key: FILE, ca: FILE }     # mutual TLS, or
  auth: { token_file: /etc/fleet/agent.token }  # bearer token, or
  insecure: true                      # loopback demos only; warned at every start
  services:
    nginx:
      reload: { systemd: nginx.service }         # or { signal: HUP, pidfile: /run/nginx.pid }
                                                 # or { signal: USR2, process: "haproxy -W" }
                                                 # or { signal: HUP, unit: php-fpm.service }
                                                 # or { command: [/usr/sbin/nginx, -s, reload], pidfile: ... }
                                                 # or { supervisor: app, signal: HUP, config: FILE }
                                                 # or { docker: web, signal: HUP }
      check: [/usr/sbin/nginx, -t, -q, -c, "{path}"]
      expect: { exe: /usr/sbin/nginx, user: root }  # the main process must be this; else refused
      generation: auto          # workers | none | { http: URL, json: FIELD } | { log: FILE, marker: REGEX }
                                # | { journal: REGEX, unit: NAME }  (the unit's journal; unit defaults to the service's)
                                # without evidence a reload is "unverified" (not a success)
      reject_markers: { log: /var/log/nginx/error.log, pattern: "\\\\[emerg\\\\]" }
                                # or { journal: true, pattern: REGEX }: the unit's journal after the signal
      health:
        - { http: "http://127.0.0.1/healthz", status: 200, body: "ok" }
        - { tcp: "127.0.0.1:443" }
        - { exec: [/usr/local/bin/check-app] }
      configs:
        - { path: /etc/nginx/nginx.conf, mode: "0644", owner: root }
      allow_restart: false
      generation_timeout: 5s    # wait this long for a new generation
      healthy_for: 500ms        # probes must stay green this long afterwards
      probe_interval: 100ms
      command_timeout: 30s

Exit codes: 0 clean shutdown, 1 runtime failure, 2 invalid config.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: "string", default: "/etc/fleet/agent.yaml" },
      "check-config": { type: "boolean", default: false },
      "log-level": { type: "string", default: "info" },
      help: { type: "boolean", short: "h", default: false },
      version: { type: "boolean", default: false },
    },
  });
  if (values.help) return console.log(HELP), 0;
  if (values.version) return console.log(AGENT_VERSION), 0;
  const level = values["log-level"] as "debug" | "info" | "warn" | "error";
  const logger = createLogger({ level, write: (l) => process.stdout.write(l + "\n") });
  const file = values.config!;

  const config = await readConfigOrExit("fleet-agent", () => readAgentConfig(file));
  if (typeof config === "number") return config;
  if (values["check-config"]) return console.log(`${file}: ok (${config.services.size} services)`), 0;
  if (config.auth.mode === "insecure") {
    logger.warn("running with insecure: true — no authentication; any client that can reach the port may reload services. Use tls or auth.token_file outside loopback demos.", { listen: config.listen });
  }

  const runner = execaRunner;
  const core = new AgentCore(config, { runner, systemd: new SystemdClient(runner), logger });
  const server = await startAgentServer(core, config, logger);

  reloadOnSighup("config", () => readAgentConfig(file), (next) => {
    if (next.listen !== core.currentConfig.listen) logger.warn("listen address changed; it takes effect on restart", { listen: next.listen });
    server.setAuth(next);
    core.replaceConfig(next);
    logger.info("config reloaded", { services: [...next.services.keys()] });
  }, logger);

  return untilStopped(async (sig) => {
    logger.info("shutting down: new calls refused, in-flight reloads finish", { signal: sig });
    const [, pending] = await Promise.all([server.shutdown(60_000), core.drain()]);
    logger.info("stopped", { reloads_finished_during_shutdown: pending });
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`fleet-agent: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

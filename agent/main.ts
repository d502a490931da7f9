// fleet-agent: the daemon on every server. Loads its config, serves gRPC,
// reloads its own config on SIGHUP and shuts down gracefully on SIGTERM.
import { parseArgs } from "node:util";
import { readConfigOrExit, reloadOnSighup, untilStopped } from "../common/daemon-lifecycle.js";
import { createLogger } from "../common/logger.js";
import { plural } from "../common/plural.js";
import type { BoundHttp } from "../common/http-listener.js";
import { startMetricsServer } from "../common/metrics-server.js";
import { AGENT_VERSION, AgentCore } from "./agent-core.js";
import type { AgentConfig } from "./config/agent-config.js";
import { readAgentConfig } from "./config/read-agent-config.js";
import { restartNeeded } from "./config/restart-needed.js";
import { metricsAccess } from "./metrics/metrics-access.js";
import { processGroupRunner } from "./process/command-runner.js";
import { SystemdClient } from "./process/systemd-client.js";
import { sweepLeftovers } from "./configs/sweep-leftovers.js";
import { startAgentServer, type RunningAgentServer } from "./server/agent-server.js";

const HELP = `fleet-agent ${AGENT_VERSION} — reloads the services declared in its config and proves the outcome

Usage: fleet-agent [--config /etc/fleet/agent.yaml] [--check-config]

  --config FILE     agent config (default /etc/fleet/agent.yaml)
  --check-config    validate the config, print every problem, and exit
  --log-level L     debug, info, warn or error (default info)

Config file (YAML), every field (defaults in parentheses):
  listen: 0.0.0.0:7601                # HOST:PORT or unix:/PATH (0.0.0.0:7601)
  socket_mode: "0600"                 # unix listen only: the socket's mode, set explicitly (0600)
  socket_group: fleet                 # unix listen only: the group owning the socket
  auth: { token_file: /etc/fleet/agent.token }  # bearer token (at least 16 characters), or
  tls:                                # mutual TLS, or
    cert: FILE
    key: FILE
    ca: FILE
    allow: { Describe: ["*"], Status: ["*"], Probe: ["*"], Reload: [controller], PushConfig: [controller], RollbackConfig: [controller], DiffConfig: [controller], Fence: [controller], Metrics: [monitoring] }
                                      # per RPC, the client certificate names (CN) that may call it (any);
                                      # DiffConfig without a list follows PushConfig's; Fence follows
                                      # Reload/PushConfig/RollbackConfig's; Metrics: who may read
                                      # metrics over HTTPS (metrics.tls)
  insecure: true                      # loopback demos only; warned at every start
  limits:
    max_message_bytes: 4194304        # largest gRPC message (needs a restart)
    max_concurrent_reloads: 4         # reloads and config changes in flight at once
    max_config_bytes: 1048576         # largest pushed (or diffed) config file, per file of a set
    mutations_per_second: 20          # Reload, PushConfig, RollbackConfig calls per second
    max_connections: 512
    max_connections_per_peer: 64
    handshake_timeout: 10s
  state_dir: /var/lib/fleet-agent     # previous config versions, for restores; check-namespace/ (an empty mount point)
  keep_versions: 5                    # earlier versions kept per config path for rollback (1-100),
                                      # besides the newest (live) one
  shutdown_timeout: 60s               # then in-flight work is interrupted and reported so
  metrics: { listen: 127.0.0.1:9601 } # optional: Prometheus metrics at /metrics, plain HTTP on loopback only
  # metrics: { listen: 10.0.0.5:9601, tls: true }  # or HTTPS on any address, with tls: (the agent's
                                      # certificate, key and CA; a client certificate from the CA is
                                      # required, and tls.allow.Metrics names who may read)
  services:
    nginx:
      reload: { systemd: nginx.service }         # or { signal: HUP, pidfile: /run/nginx.pid }
                                                 # or { signal: USR2, process: "haproxy -W" }
                                                 # or { signal: HUP, unit: php-fpm.service }
                                                 # or { command: [/usr/sbin/nginx, -s, reload], pidfile: ..., process: ..., unit: ... }
                                                 # or { supervisor: app, signal: HUP, config: FILE }
                                                 # or { docker: web, signal: HUP }
      check: [/usr/sbin/nginx, -t, -q, -c, "{path}"]   # {path}: the first declared config's live path
      check_mode: staged        # a pushed set is checked once, at its real paths, in a private mount
                                # namespace (each staged file bind-mounted over its live path; needs
                                # root; without it only a single file is checked, as a staged copy
                                # with {path} = the copy). live: swap all files in, check, put all
                                # back on failure (checks run by a container or daemon need this)
      expect: { exe: /usr/sbin/nginx, user: root }  # the main process must be this; else refused
      generation: auto          # workers | none | { http: URL, json: FIELD } | { log: FILE, marker: REGEX }
                                # | { journal: REGEX, unit: NAME }  (the unit's journal; unit defaults to the service's)
                                # without evidence a reload is "unverified" (not a success)
      reject_markers: { log: /var/log/nginx/error.log, pattern: "\\\\[emerg\\\\]" }
                                # or { journal: true, pattern: REGEX }: the unit's journal after the signal
      health:
        - { http: "http://127.0.0.1/healthz", status: 200, body: "ok", timeout: 1s }
        - { tcp: "127.0.0.1:443", timeout: 1s }
        - { exec: [/usr/local/bin/check-app], timeout: 1s }
      configs:                  # every file PushConfig may write (one or a set per push);
                                # normalized absolute paths (no '.', '..', '//' or trailing '/')
                                # file names of at most 228 bytes, no NUL or line break,
                                # not of the form .NAME.fleet-tmp|staged-HEX12 (fleet's temp files)
        - { path: /etc/nginx/nginx.conf, mode: "0644", owner: root }   # owner: user or user:group
        - { path: /etc/nginx/sites-enabled/app.conf }
      allow_restart: false
      generation_timeout: 5s    # wait this long for a new generation
      healthy_for: 500ms        # probes must stay green this long afterwards
      probe_interval: 100ms
      command_timeout: 30s

Durations take a unit and may be compound (500ms, 30s, 2m, 1h30m); a bare number is refused.

Everything the config names (token file, TLS files, owners, groups) is read
when the config is read: at start, on SIGHUP and by --check-config alike.
SIGHUP applies a new config whole or not at all (new TLS files and tls.allow
included, for the metrics listener too, where a new tls.ca closes every
connection verified under the old one); listen, socket_mode, socket_group,
limits.max_message_bytes, metrics.listen, metrics.tls and a switch to or from
tls need a restart and are refused (logged) on SIGHUP.

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

  // From here on a SIGHUP (logrotate, an operator) never takes the daemon down, also while it
  // starts: it is queued until the agent serves, then reads the config like any other.
  let serving!: (apply: (next: AgentConfig) => void) => void;
  reloadOnSighup("config", () => readAgentConfig(file), new Promise<(next: AgentConfig) => void>((resolve) => (serving = resolve)), logger);

  const config = await readConfigOrExit("fleet-agent", () => readAgentConfig(file));
  if (typeof config === "number") return config;
  if (values["check-config"]) return console.log(`${file}: ok (${plural(config.services.size, "service")})`), 0;
  if (config.auth.mode === "insecure") {
    logger.warn("running with insecure: true — no authentication; any client that can reach the port may reload services. Use tls or auth.token_file outside loopback demos.", { listen: config.listen });
  }

  // Before serving: no push of ours is in flight, so temp files beside declared configs are leftovers.
  await sweepLeftovers(config, logger);

  const runner = processGroupRunner;
  const core = new AgentCore(config, { runner, systemd: new SystemdClient(runner), logger });
  // prom-client is loaded only when metrics are on (metrics.listen needs a restart to change).
  const metrics = config.metrics ? new (await import("./metrics/agent-metrics.js")).AgentMetrics() : undefined;
  const server = await startAgentServer(core, config, logger, metrics);
  metrics?.countConnectionsWith(() => server.connections());
  const access = metricsAccess(config, () => core.currentConfig);
  const metricsServer = config.metrics && metrics ? await startMetricsServer(config.metrics.listen, metrics.registry, logger, access) : undefined;

  serving((next) => swapConfig(core, server, metricsServer, next, logger));

  return untilStopped(async (sig) => {
    const deadline = core.currentConfig.shutdownTimeoutMs;
    logger.info("shutting down: new calls refused, in-flight work may finish", { signal: sig, shutdown_timeout_ms: deadline });
    // The server's grace outlasts the drain, so interrupted work still reports to its caller.
    const [, drained] = await Promise.all([server.shutdown(deadline + 10_000), core.drain(deadline)]);
    if (drained.interrupted.length) logger.warn("in-flight work interrupted at the shutdown deadline", { interrupted: drained.interrupted, shutdown_timeout_ms: deadline });
    await metricsServer?.close();
    logger.info("stopped", { reloads_finished_during_shutdown: drained.finished, interrupted: drained.interrupted.length });
  });
}

/** SIGHUP: everything for the new config is built first, then swapped in at once; a refusal changes nothing. */
function swapConfig(core: AgentCore, server: RunningAgentServer, metricsServer: BoundHttp | undefined, next: AgentConfig, logger: ReturnType<typeof createLogger>) {
  const restart = restartNeeded(core.currentConfig, next);
  if (restart.length) throw new Error(`these changes need a restart of fleet-agent: ${restart.join("; ")}`);
  const commitServer = server.prepare(next);
  const commitCore = core.prepare(next);
  // Metrics over HTTPS present the agent's certificate: renewed with it.
  const commitMetrics = metricsServer?.prepareTls && next.auth.mode === "tls" ? metricsServer.prepareTls(next.auth.material) : undefined;
  commitServer();
  commitCore();
  commitMetrics?.();
  logger.info("config reloaded", { services: [...next.services.keys()], auth: next.auth.mode });
}

// The agent outlives its own mistakes: a stray rejection is logged, not fatal.
process.on("unhandledRejection", (reason) => {
  console.error(JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "unhandled rejection (bug; the agent keeps running)", error: reason instanceof Error ? reason.stack : String(reason) }));
});

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`fleet-agent: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

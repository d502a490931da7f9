// Many real agent servers in one process (for the scale benchmark), each
// managing a cheap simulated service: one process that catches SIGHUP and does
// nothing, found through a pidfile, with no generation evidence and no probes
// (its reloads are unverified; the benchmark accepts them).
// Prints {"addresses": [...]} on stdout once all listen; exits on SIGTERM.
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AgentCore } from "../../agent/agent-core.js";
import { systemHostFacts } from "../../agent/config/host-facts.js";
import { parseAgentConfig } from "../../agent/config/parse-agent-config.js";
import { processGroupRunner } from "../../agent/process/command-runner.js";
import { SystemdClient } from "../../agent/process/systemd-client.js";
import { startAgentServer } from "../../agent/server/agent-server.js";
import { silentLogger } from "../../common/logger.js";

const n = Number(process.argv[2] ?? 1000);
const deaf = spawn(process.execPath, ["-e", "process.on('SIGHUP', () => {}); setInterval(() => {}, 1e9)"], { stdio: "ignore" });
const pidfile = path.join(os.tmpdir(), `fleet-farm-${process.pid}.pid`);
writeFileSync(pidfile, `${deaf.pid}\n`);
const parsed = parseAgentConfig({
  listen: "127.0.0.1:0",
  insecure: true,
  limits: { mutations_per_second: 100000, max_concurrent_reloads: 1000 },
  services: { svc: { reload: { signal: "HUP", pidfile }, generation: "none", healthy_for: "0ms" } },
}, systemHostFacts());
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const servers = [];
for (let i = 0; i < n; i++) {
  const core = new AgentCore(parsed.value, { runner: processGroupRunner, systemd: new SystemdClient(processGroupRunner), logger: silentLogger, hostname: `farm${i}` });
  servers.push(await startAgentServer(core, parsed.value, silentLogger));
}
process.stdout.write(JSON.stringify({ addresses: servers.map((s) => s.address) }) + "\n");
process.on("SIGTERM", () => {
  deaf.kill("SIGKILL");
  rmSync(pidfile, { force: true });
  process.exit(0);
});

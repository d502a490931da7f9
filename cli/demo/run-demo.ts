// `fleet demo`: a controller and five local agents, each supervising a small
// real web service that reloads on SIGHUP; a healthy rolling reload, then one
// whose canary fails its health check and halts; then the history. Needs no
// root and no Debian packages; cleans up everything it started.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AgentCore } from "../../agent/agent-core.js";
import { systemHostFacts } from "../../agent/config/host-facts.js";
import { parseAgentConfig } from "../../agent/config/parse-agent-config.js";
import { processGroupRunner } from "../../agent/process/command-runner.js";
import { SystemdClient } from "../../agent/process/systemd-client.js";
import { startAgentServer, type RunningAgentServer } from "../../agent/server/agent-server.js";
import { freePort } from "../../common/free-port.js";
import { silentLogger } from "../../common/logger.js";
import type { ControllerCore } from "../../controller/controller-core.js";
import { readInventory } from "../../controller/inventory/read-inventory.js";
import { startController } from "../../controller/start-controller.js";

// This module runs compiled (somewhere under build/) or from source (cli/demo/, through tsx).
const compiled = !import.meta.url.endsWith(".ts");
const ROOT = checkoutRoot(path.dirname(fileURLToPath(import.meta.url)));
const FLEET_BIN = path.join(ROOT, "bin/fleet");
const SERVICE_ARGV = compiled
  ? [path.join(ROOT, "build/demo-web-service.mjs")]
  : ["--import", import.meta.resolve("tsx"), path.join(ROOT, "cli/demo/reloadable-web-service.ts")];
const HOSTS = 5;

export async function runDemo(write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "fleet-demo-"));
  const services: ChildProcess[] = [];
  const agents: RunningAgentServer[] = [];
  let core: ControllerCore | undefined;
  const say = (s: string) => write(`\n\x1b[1m== ${s}\x1b[0m\n`.replace(/\x1b\[[0-9;]*m/g, process.stdout.isTTY ? "$&" : ""));
  try {
    say(`starting ${HOSTS} web services and ${HOSTS} fleet agents on 127.0.0.1 (in ${dir})`);
    const addresses: string[] = [];
    const ports: number[] = [];
    for (let i = 1; i <= HOSTS; i++) {
      const port = await freePort();
      ports.push(port);
      const conf = path.join(dir, `web${i}.json`);
      writeFileSync(conf, JSON.stringify({ healthy: true, body: `web${i} v1` }));
      const child = spawn(process.execPath, [...SERVICE_ARGV, "--port", String(port), "--pidfile", path.join(dir, `web${i}.pid`), "--config", conf, "--log", path.join(dir, `web${i}.log`)], { stdio: "ignore" });
      services.push(child);
      await waitForHttp(`http://127.0.0.1:${port}/healthz`);
      const parsed = parseAgentConfig({
        listen: "127.0.0.1:0",
        insecure: true,
        // In the demo's directory: the default (/var/lib/fleet-agent) would keep every demo's controller identity.
        state_dir: path.join(dir, `web${i}-state`),
        services: {
          web: {
            reload: { signal: "HUP", pidfile: path.join(dir, `web${i}.pid`) },
            generation: { http: `http://127.0.0.1:${port}/generation`, json: "generation" },
            reject_markers: { log: path.join(dir, `web${i}.log`), pattern: "\\[emerg\\]" },
            health: [{ http: `http://127.0.0.1:${port}/healthz`, status: 200 }],
            healthy_for: "300ms",
          },
        },
      }, systemHostFacts());
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      const agentCore = new AgentCore(parsed.value, { runner: processGroupRunner, systemd: new SystemdClient(processGroupRunner), logger: silentLogger, hostname: `web${i}` });
      const server = await startAgentServer(agentCore, parsed.value, silentLogger);
      agents.push(server);
      addresses.push(server.address);
      write(`  web${i}: service on :${port} (pid ${child.pid}), agent on ${server.address}\n`);
    }

    const fleetYaml = path.join(dir, "fleet.yaml");
    writeFileSync(
      fleetYaml,
      `controller: { listen: "unix:${dir}/controller.sock", db: ${dir}/history.db }
groups:
  demo:
    service: web
    hosts: [${addresses.join(", ")}]
    policy: { canary: 1, batch: 2, max_failures: 0 }
`,
    );
    const inventory = await readInventory(fleetYaml);
    const controller = await startController(inventory, silentLogger);
    core = controller.core;
    write(`  controller on ${controller.address}, history in ${dir}/history.db\n`);
    const env = { FLEET_CONTROLLER: controller.address };

    say("fleet reload demo --canary 1 --batch 2   (a healthy rolling reload)");
    const first = await runFleet(["reload", "demo", "--canary", "1", "--batch", "2", "--yes", "--reason", "demo: healthy reload"], env);

    say("web1 (the canary) gets a config that fails its health check, then the same reload");
    writeFileSync(path.join(dir, "web1.json"), JSON.stringify({ healthy: false, body: "broken" }));
    const second = await runFleet(["reload", "demo", "--canary", "1", "--batch", "2", "--yes", "--reason", "demo: canary fails"], env);
    // Evidence, not a claim: each service counts the SIGHUPs it received.
    const reloads = await Promise.all(ports.map(async (p) => ((await (await fetch(`http://127.0.0.1:${p}/generation`)).json()) as { reloads: number }).reloads));
    reloads.forEach((n, i) => write(`  web${i + 1} has received ${n} SIGHUP${n === 1 ? "" : "s"}\n`));
    const untouched = reloads.slice(1).every((n) => n === 1);
    write(second === 1 && untouched ? "  the canary failed, so the rollout halted: web2..web5 were not signalled again (exit 1)\n" : `  unexpected: exit ${second}, reloads ${reloads.join(",")}\n`);

    say("fleet history");
    await runFleet(["history"], env);
    say("done; cleaning up");
    return first === 0 && second === 1 && untouched ? 0 : 1;
  } finally {
    await core?.shutdown(2000);
    await Promise.all(agents.map((a) => a.shutdown(2000)));
    for (const s of services) s.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

function runFleet(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(FLEET_BIN, args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env }, timeout: 120_000 });
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

async function waitForHttp(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up within 20s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The nearest directory above `dir` that holds bin/fleet. */
function checkoutRoot(dir: string): string {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) if (existsSync(path.join(d, "bin/fleet"))) return d;
  throw new Error(`fleet demo: no bin/fleet above ${dir}`);
}

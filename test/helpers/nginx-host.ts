// An nginx "host" in its own mount namespace: the same config path on every
// host (bind-mounted from a per-host directory), so one config rollout can go
// to all of them. The agent runs in that namespace too. Needs root.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnAgent, type AgentProcess } from "./agent-process.js";
import { freePort } from "../../common/free-port.js";
import { NGINX, nginxConfText } from "./nginx.js";
import { REPO_ROOT } from "./web-service.js";
import { waitFor } from "./wait-for.js";

/** The path every host sees for its own directory. */
export const LIVE_DIR = path.join(REPO_ROOT, ".scratch", "nginx-live");
export const LIVE_CONF = path.join(LIVE_DIR, "nginx.conf");

export const nginxHostMissing = process.getuid?.() !== 0 ? "needs root for mount namespaces (CI runs as root)" : undefined;

export interface NginxHost {
  dir: string;
  port: number;
  agent: AgentProcess;
  /** The host's live config file, seen from outside its namespace. */
  conf: string;
  masterPid(): number;
  serve(p?: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/** Identical on every host: the listen address comes from each host's own listen.conf. */
export function nginxConfig(body: string, healthz?: string): string {
  return nginxConfText(LIVE_DIR, `include ${LIVE_DIR}/listen.conf;`, body, healthz);
}

export async function startNginxHost(dir: string, extraProbe = ""): Promise<NginxHost> {
  mkdirSync(LIVE_DIR, { recursive: true });
  mkdirSync(path.join(dir, "tmp"), { recursive: true });
  mkdirSync(path.join(dir, "state"), { recursive: true });
  const port = await freePort();
  writeFileSync(path.join(dir, "listen.conf"), `listen 127.0.0.1:${port};\n`);
  writeFileSync(path.join(dir, "nginx.conf"), nginxConfig("v1"));
  const agentConf = path.join(dir, "agent.yaml");
  writeFileSync(
    agentConf,
    `listen: 127.0.0.1:0
insecure: true
state_dir: ${LIVE_DIR}/state
services:
  nginx:
    reload: { signal: HUP, pidfile: ${LIVE_DIR}/nginx.pid }
    check: [${NGINX}, -t, -q, -p, "${LIVE_DIR}/", -e, ${LIVE_DIR}/error.log, -c, "{path}"]
    reject_markers: { log: ${LIVE_DIR}/error.log, pattern: "\\\\[emerg\\\\]" }
    generation: workers
    healthy_for: 200ms
    health:
      - { http: "http://127.0.0.1:${port}/healthz" }
${extraProbe ? `      - ${extraProbe.replace("@PORT@", String(port))}\n` : ""}    configs: [{ path: ${LIVE_CONF}, mode: "0644", owner: root }]
`,
  );
  const script = `mount --bind ${dir} ${LIVE_DIR} && ${NGINX} -p ${LIVE_DIR}/ -e ${LIVE_DIR}/error.log -c ${LIVE_CONF} && exec "$0" "$@"`;
  const agent = await spawnAgent(agentConf, {}, ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script]);
  const host: NginxHost = {
    dir,
    port,
    agent,
    conf: path.join(dir, "nginx.conf"),
    masterPid: () => Number(readFileSync(path.join(dir, "nginx.pid"), "utf8")),
    async serve(p = "/") {
      const res = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(2000) });
      return { status: res.status, body: await res.text() };
    },
    async stop() {
      await agent.stopInside();
      try {
        process.kill(host.masterPid(), "SIGQUIT");
      } catch {
        // already gone
      }
    },
  };
  await waitFor("nginx to serve", async () => (await host.serve("/healthz")).status === 200);
  return host;
}

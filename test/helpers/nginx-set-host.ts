// An nginx "host" whose config is a set: nginx.conf including a site file, a
// per-host file rendered from a template, and a TLS certificate and key
// served on a second port. Like nginx-host.ts, each host lives in its own
// mount namespace where its directory is bind-mounted at one shared path, so
// every host declares the same config paths; the real fleet-agent runs there.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "../../common/free-port.js";
import { childrenOf } from "../../agent/process/proc-fs.js";
import { spawnAgent, type AgentProcess } from "./agent-process.js";
import { NGINX, nginxPreamble } from "./nginx.js";
import { REPO_ROOT } from "./web-service.js";
import { waitFor } from "./wait-for.js";

/** The path every host sees for its own directory. */
export const SET_DIR = path.join(REPO_ROOT, ".scratch", "nginx-set-live");
export const SET_FILES = { conf: "nginx.conf", site: "site.conf", weight: "weight.conf", cert: "tls.crt", key: "tls.key" } as const;
export const livePath = (name: keyof typeof SET_FILES) => path.join(SET_DIR, SET_FILES[name]);

/** nginx.conf as every host has it; `marker` lets a test change it harmlessly. */
export function setNginxConf(marker = "v1"): string {
  return `# ${marker}
${nginxPreamble(SET_DIR)}  server {
    include ${SET_DIR}/listen.conf;
    location = /healthz { return 200 "ok\\n"; }
    include ${livePath("site")};
    include ${livePath("weight")};
  }
  server {
    include ${SET_DIR}/listen-tls.conf;
    ssl_certificate ${livePath("cert")};
    ssl_certificate_key ${livePath("key")};
    location / { return 200 "tls\\n"; }
  }
}
`;
}

export const siteConf = (body: string) => `location = /site { return 200 "${body}\\n"; }\n`;

/** A self-signed certificate and its key (EC P-256: quick to make). */
export function makeCert(dir: string, cn: string): { cert: string; key: string } {
  const cert = path.join(dir, `${cn}.crt`);
  const key = path.join(dir, `${cn}.key`);
  execFileSync("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-subj", `/CN=${cn}`, "-days", "2"], { stdio: "pipe", timeout: 30_000 });
  return { cert, key };
}

export interface NginxSetHost {
  dir: string;
  port: number;
  tlsPort: number;
  agent: AgentProcess;
  /** A live file as seen from outside the host's namespace. */
  file(name: keyof typeof SET_FILES): string;
  read(name: keyof typeof SET_FILES): Buffer;
  get(p: string): Promise<{ status: number; body: string }>;
  /** nginx's workers: a HUP replaces them, nothing else here does. */
  workers(): Promise<number[]>;
  stop(): Promise<void>;
}

export async function startNginxSetHost(dir: string, tls: { cert: string; key: string }): Promise<NginxSetHost> {
  mkdirSync(SET_DIR, { recursive: true });
  for (const d of ["tmp", "state"]) mkdirSync(path.join(dir, d), { recursive: true });
  const [port, tlsPort] = [await freePort(), await freePort()];
  writeFileSync(path.join(dir, "listen.conf"), `listen 127.0.0.1:${port};\n`);
  writeFileSync(path.join(dir, "listen-tls.conf"), `listen 127.0.0.1:${tlsPort} ssl;\n`);
  writeFileSync(path.join(dir, SET_FILES.conf), setNginxConf());
  writeFileSync(path.join(dir, SET_FILES.site), siteConf("site-v1"));
  writeFileSync(path.join(dir, SET_FILES.weight), 'location = /weight { return 200 "none\\n"; }\n');
  writeFileSync(path.join(dir, SET_FILES.cert), readFileSync(tls.cert));
  writeFileSync(path.join(dir, SET_FILES.key), readFileSync(tls.key));
  const agentConf = path.join(dir, "agent.yaml");
  writeFileSync(
    agentConf,
    `listen: 127.0.0.1:0
insecure: true
state_dir: ${SET_DIR}/state
limits: { mutations_per_second: 1000 }
services:
  nginx:
    reload: { signal: HUP, pidfile: ${SET_DIR}/nginx.pid }
    check: [${NGINX}, -t, -q, -p, "${SET_DIR}/", -e, ${SET_DIR}/error.log, -c, "{path}"]
    reject_markers: { log: ${SET_DIR}/error.log, pattern: "\\\\[emerg\\\\]" }
    generation: workers
    healthy_for: 200ms
    health: [{ http: "http://127.0.0.1:${port}/healthz" }]
    configs:
      - { path: ${livePath("conf")}, mode: "0644" }
      - { path: ${livePath("site")}, mode: "0644" }
      - { path: ${livePath("weight")}, mode: "0644" }
      - { path: ${livePath("cert")}, mode: "0644" }
      - { path: ${livePath("key")}, mode: "0600" }
`,
  );
  const script = `mount --bind ${dir} ${SET_DIR} && ${NGINX} -p ${SET_DIR}/ -e ${SET_DIR}/error.log -c ${livePath("conf")} && exec "$0" "$@"`;
  const agent = await spawnAgent(agentConf, {}, ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script]);
  const masterPid = () => Number(readFileSync(path.join(dir, "nginx.pid"), "utf8"));
  const host: NginxSetHost = {
    dir,
    port,
    tlsPort,
    agent,
    file: (name) => path.join(dir, SET_FILES[name]),
    read: (name) => readFileSync(path.join(dir, SET_FILES[name])),
    async get(p) {
      const res = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(2000) });
      return { status: res.status, body: await res.text() };
    },
    workers: () => childrenOf(masterPid()),
    async stop() {
      await agent.stopInside();
      try {
        process.kill(masterPid(), "SIGQUIT");
      } catch {
        // already gone
      }
    },
  };
  await waitFor("nginx to serve", async () => (await host.get("/healthz").catch(() => undefined))?.status === 200);
  return host;
}

// A real nginx from Debian's package under its own prefix on a loopback port.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "../../common/free-port.js";
import { waitFor } from "./wait-for.js";

export const NGINX = "/usr/sbin/nginx";
export const nginxMissing = existsSync(NGINX) ? undefined : `${NGINX} not installed (apt-get install nginx-light; .ci/run installs it)`;

/** The start of an nginx.conf whose every path (pid, log, temp files) is under `dir`, ending inside `http {`. */
export function nginxPreamble(dir: string, workers = 2, connections = 128): string {
  return `worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log notice;
events { worker_connections ${connections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
`;
}

/** An nginx.conf whose every path is under `dir`; `listen` is the server's listen directive. */
export function nginxConfText(dir: string, listen: string, body: string, healthz = 'return 200 "ok\\n";'): string {
  return `${nginxPreamble(dir)}  server {
    ${listen}
    location = /healthz { ${healthz} }
    location / { return 200 "${body}\\n"; }
  }
}
`;
}

export interface Nginx {
  dir: string;
  port: number;
  conf: string;
  pidfile: string;
  errorLog: string;
  masterPid(): number;
  config(body: string): string;
  stop(): Promise<void>;
}

export async function startNginx(dir: string, body = "v1"): Promise<Nginx> {
  mkdirSync(path.join(dir, "tmp"), { recursive: true });
  const port = await freePort();
  const pidfile = path.join(dir, "nginx.pid");
  const errorLog = path.join(dir, "error.log");
  const conf = path.join(dir, "nginx.conf");
  const n: Nginx = {
    dir,
    port,
    conf,
    pidfile,
    errorLog,
    masterPid: () => Number(readFileSync(pidfile, "utf8")),
    config: (text: string) => nginxConfText(dir, `listen 127.0.0.1:${port};`, text),
    async stop() {
      try {
        process.kill(n.masterPid(), "SIGQUIT");
        await waitFor("nginx to exit", () => !existsSync(pidfile), 5000);
      } catch {
        // already stopped
      }
    },
  };
  writeFileSync(conf, n.config(body));
  execFileSync(NGINX, ["-p", `${dir}/`, "-e", errorLog, "-c", conf], { stdio: "pipe", timeout: 10_000 });
  await waitFor("nginx to serve", async () => (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) })).ok);
  return n;
}

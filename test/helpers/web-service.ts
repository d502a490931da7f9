// Starts the demo's reloadable web service as a real child process for tests.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "../../common/free-port.js";
import { WEB_SERVICE_COMMAND } from "./built-bins.js";
import { REPO_ROOT } from "./repo-root.js";
import { waitFor } from "./wait-for.js";

export { REPO_ROOT, WEB_SERVICE_COMMAND };
export const TSX_LOADER = path.join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs");

export interface WebService {
  port: number;
  pidfile: string;
  configFile: string;
  logFile: string;
  child: ChildProcess;
  pid(): number;
  generation(): Promise<{ generation: number; reloads: number; pid: number }>;
  stop(): Promise<void>;
}

export async function startWebService(dir: string, name: string, mode: "normal" | "ignore-hup" | "reexec" = "normal"): Promise<WebService> {
  const port = await freePort();
  const pidfile = path.join(dir, `${name}.pid`);
  const configFile = path.join(dir, `${name}.json`);
  const logFile = path.join(dir, `${name}.log`);
  writeFileSync(configFile, JSON.stringify({ healthy: true, body: `hello from ${name}` }));
  const [node, script] = WEB_SERVICE_COMMAND;
  const child = spawn(node!, [script!, "--port", String(port), "--pidfile", pidfile, "--config", configFile, "--log", logFile, "--mode", mode], {
    stdio: "ignore",
  });
  const svc: WebService = {
    port,
    pidfile,
    configFile,
    logFile,
    child,
    pid: () => Number(readFileSync(pidfile, "utf8")),
    async generation() {
      const res = await fetch(`http://127.0.0.1:${port}/generation`, { signal: AbortSignal.timeout(2000) });
      return (await res.json()) as { generation: number; reloads: number; pid: number };
    },
    async stop() {
      for (const pid of new Set([child.pid, safePid(pidfile)])) {
        if (pid) try { process.kill(pid, "SIGTERM"); } catch { /* already gone */ }
      }
      await waitFor(`${name} to exit`, () => child.exitCode !== null || child.signalCode !== null, 5000).catch(() => child.kill("SIGKILL"));
    },
  };
  try {
    await waitFor(`${name} to listen`, async () => (await svc.generation()).pid > 0, 30_000);
  } catch (err) {
    await svc.stop();
    throw err;
  }
  return svc;
}

function safePid(file: string): number | undefined {
  try {
    return Number(readFileSync(file, "utf8")) || undefined;
  } catch {
    return undefined;
  }
}

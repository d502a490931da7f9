// The real fleet-controller daemon as a child process: started, followed
// through its log, signalled, killed.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "./web-service.js";
import { waitFor } from "./wait-for.js";

export const CONTROLLER_BIN = path.join(REPO_ROOT, "bin/fleet-controller");

export interface ControllerDaemon {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code or signal. */
  exited: Promise<number | string>;
  /** SIGTERM, and SIGKILL after 10s; resolves when it is gone. */
  stop(): Promise<void>;
}

/** Spawns the daemon; with `waitListening` (the default) resolves once it listens. */
export async function startControllerDaemon(config: string, options: { waitListening?: boolean; env?: Record<string, string> } = {}): Promise<ControllerDaemon> {
  const child = spawn(CONTROLLER_BIN, ["--config", config], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code ?? -1)));
  const daemon: ControllerDaemon = {
    child,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  if (options.waitListening ?? true) {
    try {
      await waitFor("the controller to listen", () => {
        if (child.exitCode !== null) throw new Error(`the controller exited ${child.exitCode}: ${out}`);
        return out.includes("controller listening");
      }, 20_000);
    } catch (err) {
      await daemon.stop();
      throw err;
    }
  }
  return daemon;
}

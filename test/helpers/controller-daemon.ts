// The real fleet-controller daemon as a child process: started, followed
// through its log, signalled, killed.
import { spawn, type ChildProcess } from "node:child_process";
import { CONTROLLER_BIN } from "./built-bins.js";
import { waitFor } from "./wait-for.js";

export { CONTROLLER_BIN };

export interface ControllerDaemon {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code or signal. */
  exited: Promise<number | string>;
  /** SIGTERM, and SIGKILL after 10s; resolves when it is gone. */
  stop(): Promise<void>;
  /** A field of the first JSON log line with message `msg` (waits for it). */
  logField(msg: string, field: string, timeoutMs?: number): Promise<string>;
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
    logField: (msg, field, timeoutMs = 20_000) =>
      waitFor(`controller log "${msg}"`, () => {
        if (child.exitCode !== null) throw new Error(`controller exited with ${child.exitCode}: ${out}`);
        for (const line of out.split("\n")) {
          if (!line.startsWith("{")) continue;
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.msg === msg) return String(entry[field]);
        }
        return undefined;
      }, timeoutMs),
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

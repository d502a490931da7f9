// The real fleet-controller daemon as a child process, with its JSON log read back.
import { spawn, type ChildProcess } from "node:child_process";
import { CONTROLLER_BIN } from "./built-bins.js";
import { waitFor } from "./wait-for.js";

export interface ControllerProcess {
  child: ChildProcess;
  output(): string;
  /** A field of the first log line with message `msg` (waits for it). */
  logField(msg: string, field: string, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function spawnController(configFile: string): Promise<ControllerProcess> {
  const child = spawn(CONTROLLER_BIN, ["--config", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const logField = (msg: string, field: string, timeoutMs = 20_000) =>
    waitFor(`controller log "${msg}"`, () => {
      if (child.exitCode !== null) throw new Error(`controller exited with ${child.exitCode}: ${out}`);
      for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === msg) return String(entry[field]);
      }
      return undefined;
    }, timeoutMs);
  await logField("controller listening", "address");
  return {
    child,
    output: () => out,
    logField,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000)).then(() => child.kill("SIGKILL"))]);
    },
  };
}

// Runs the real `fleet` CLI as a child process.
import { spawn } from "node:child_process";
import path from "node:path";
import { FLEET_BIN } from "./built-bins.js";

export { FLEET_BIN };

export function runFleet(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(FLEET_BIN, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

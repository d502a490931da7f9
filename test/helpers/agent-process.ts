// The real fleet-agent daemon as a child process (for signals, exit codes, users).
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import path from "node:path";
import { childrenOf } from "../../agent/process/proc-fs.js";
import { AGENT_BIN } from "./built-bins.js";
import { waitFor } from "./wait-for.js";

export { AGENT_BIN };

export interface AgentProcess {
  child: ChildProcess;
  address: string;
  output(): string;
  exited(): Promise<number | null>;
  /** SIGTERM to the agent itself, also when it runs under a wrapper such as nsenter; waits for it to exit. */
  stopInside(): Promise<number | null>;
}

/** Starts the agent; `prefix` runs it through another command (e.g. nsenter into a test host). */
export async function spawnAgent(configFile: string, options: SpawnOptions = {}, prefix: string[] = []): Promise<AgentProcess> {
  const argv = [...prefix, AGENT_BIN, "--config", configFile];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], ...options });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const address = await Promise.race([
    waitFor("agent to listen", () => /"msg":"agent listening","address":"([^"]+)"/.exec(out)?.[1], 20_000),
    exit.then((code) => {
      throw new Error(`agent exited with ${code}: ${out}`);
    }),
  ]);
  return {
    child,
    address,
    output: () => out,
    exited: () => exit,
    async stopInside() {
      // Under a wrapper that forks (nsenter) the agent is its child; one that execs (unshare) is the agent.
      const pids = [child.pid!, ...(prefix.length ? await childrenOf(child.pid!) : [])];
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
      return Promise.race([exit, new Promise<null>((r) => setTimeout(r, 15_000)).then(() => (child.kill("SIGKILL"), null))]);
    },
  };
}

/** Runs fleet-agent to completion (for config errors). */
export function runAgent(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(AGENT_BIN, args, { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("exit", (code) => resolve({ code, output }));
  });
}

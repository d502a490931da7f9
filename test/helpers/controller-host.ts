// A controller "host" for takeover tests: the real fleet-controller daemon as
// PID 1 of its own PID namespace (with its own /proc), so everything it starts
// — Litestream included — lives and dies with it. powerOff() is SIGKILL of the
// namespace: the kernel kills every process in it at once, as a power cut
// would; nothing gets to sync or clean up.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { CONTROLLER_BIN } from "./built-bins.js";
import { waitFor } from "./wait-for.js";

export interface ControllerHost {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | string>;
  /** SIGKILL to the namespace: the controller and its Litestream die together. */
  powerOff(): Promise<void>;
  /** SIGTERM to the controller (its orderly shutdown), SIGKILL after 20 s. */
  stop(): Promise<void>;
}

/** Starts `fleet-controller ARGS` in a new PID namespace; resolves when it listens (or, with `expectExit`, when it exits). */
export async function startControllerHost(args: string[], options: { expectExit?: boolean } = {}): Promise<ControllerHost> {
  const child = spawn("unshare", ["--pid", "--fork", "--mount-proc", "--kill-child", CONTROLLER_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code ?? -1)));
  const host: ControllerHost = {
    child,
    output: () => out,
    exited,
    async powerOff() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // unshare forwards nothing: signal the controller (its child, PID 1 inside).
      for (const pid of childPids(child.pid!)) process.kill(pid, "SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
  if (options.expectExit) {
    await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`controller did not exit: ${out}`)), 30_000))]);
    return host;
  }
  try {
    await waitFor("the controller to listen", () => {
      if (child.exitCode !== null) throw new Error(`the controller exited ${child.exitCode}: ${out}`);
      return out.includes("controller listening");
    }, 30_000);
  } catch (err) {
    await host.powerOff();
    throw err;
  }
  return host;
}

function childPids(pid: number): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const stat = readFileSync(`/proc/${n}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Processes (host view) whose command line contains `text`. */
export function processesWith(text: string): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, "utf8").includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

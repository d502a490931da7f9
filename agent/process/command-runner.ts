// Runs argv (never a shell) with a timeout and an abort signal; the only place
// the agent starts child processes. Each child leads its own process group so
// that at the deadline the whole group is killed and the pipes are closed: a
// grandchild that keeps stdout open (`sh -c "sleep 90 & exit 0"`) cannot make
// a check outlive its timeout. execa signals only the leader and waits for
// the pipes, so this uses node:child_process directly.
import { spawn } from "node:child_process";

export interface CommandResult {
  argv: string[];
  exitCode: number;
  output: string;
  timedOut: boolean;
  /** Stopped by the caller's abort signal (agent shutdown). */
  aborted?: boolean;
  durationMs: number;
  /** Set when the program could not be started at all. */
  spawnError?: string;
}

export interface CommandRunner {
  run(argv: string[], options: { timeoutMs: number; signal?: AbortSignal; env?: Record<string, string> }): Promise<CommandResult>;
}

const MAX_OUTPUT = 16 * 1024;
/** Between SIGTERM to the group and SIGKILL. */
const KILL_GRACE_MS = 500;

/** One line for results and logs: why a command did not succeed. */
export function commandFailure(r: CommandResult, timeoutMs: number): string {
  if (r.timedOut) return `timed out after ${timeoutMs} ms; its process group was killed`;
  if (r.aborted) return `interrupted after ${r.durationMs} ms by agent shutdown; its process group was killed`;
  if (r.spawnError) return `could not start: ${r.spawnError}`;
  return `exit ${r.exitCode}`;
}

export const processGroupRunner: CommandRunner = {
  run(argv, { timeoutMs, signal, env }) {
    const started = performance.now();
    return new Promise<CommandResult>((resolve) => {
      const [file, ...args] = argv;
      const child = spawn(file!, args, { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C", ...env } });
      const output = new TailBuffer(MAX_OUTPUT);
      child.stdout!.on("data", (d: Buffer) => output.push(d));
      child.stderr!.on("data", (d: Buffer) => output.push(d));
      let exitCode: number | undefined;
      let spawnError: string | undefined;
      let stopped: "timedOut" | "aborted" | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      let settled = false;

      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearTimeout(killTimer);
        // Whatever the command left behind in its group (a backgrounded helper) goes with it.
        killGroup(child.pid, "SIGKILL");
        signal?.removeEventListener("abort", onAbort);
        child.stdout!.destroy();
        child.stderr!.destroy();
        resolve({
          argv,
          exitCode: exitCode ?? -1,
          output: spawnError && output.isEmpty() ? spawnError : output.text(),
          timedOut: stopped === "timedOut",
          aborted: stopped === "aborted",
          durationMs: Math.round(performance.now() - started),
          spawnError,
        });
      };
      const stop = (why: "timedOut" | "aborted") => {
        if (settled || stopped) return;
        stopped = why;
        killGroup(child.pid, "SIGTERM");
        // Whatever still holds the pipes after the grace period is killed and cut off.
        killTimer = setTimeout(() => {
          killGroup(child.pid, "SIGKILL");
          finish();
        }, KILL_GRACE_MS);
      };
      const onAbort = () => stop("aborted");
      const deadline = setTimeout(() => stop("timedOut"), timeoutMs);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });

      child.once("error", (err) => {
        spawnError = err.message;
        finish();
      });
      child.once("exit", (code) => {
        exitCode = code ?? -1;
      });
      // 'close' = exited and every pipe closed; a lingering grandchild that holds a pipe delays it
      // until the deadline (its output is part of the verdict), then the group is killed.
      child.once("close", () => finish());
    });
  },
};

function killGroup(pid: number | undefined, sig: NodeJS.Signals) {
  if (!pid) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is already gone
  }
}

/** Keeps the last `max` bytes of combined output, so a chatty child cannot grow memory. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(b: Buffer) {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - this.chunks[0]!.length >= this.max) this.size -= this.chunks.shift()!.length;
  }
  isEmpty() {
    return this.size === 0;
  }
  text() {
    return Buffer.concat(this.chunks).subarray(-this.max).toString("utf8").trim();
  }
}

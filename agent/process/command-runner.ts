// Runs argv (never a shell) with a timeout and an abort signal; the only place
// the agent starts child processes.
import { execa } from "execa";

export interface CommandResult {
  argv: string[];
  exitCode: number;
  output: string;
  timedOut: boolean;
  durationMs: number;
  /** Set when the program could not be started at all. */
  spawnError?: string;
}

export interface CommandRunner {
  run(argv: string[], options: { timeoutMs: number; signal?: AbortSignal; env?: Record<string, string> }): Promise<CommandResult>;
}

const MAX_OUTPUT = 16 * 1024;

export const execaRunner: CommandRunner = {
  async run(argv, { timeoutMs, signal, env }) {
    const started = performance.now();
    const [file, ...args] = argv;
    const r = await execa(file!, args, {
      reject: false,
      all: true,
      timeout: timeoutMs,
      cancelSignal: signal,
      forceKillAfterDelay: 2000,
      stdin: "ignore",
      env: { LC_ALL: "C", ...env },
      maxBuffer: 1024 * 1024,
    });
    const output = String(r.all ?? "").slice(-MAX_OUTPUT).trim();
    const spawnError = r.failed && r.exitCode === undefined && !r.timedOut && !r.isCanceled ? r.originalMessage || r.shortMessage : undefined;
    return {
      argv,
      exitCode: r.exitCode ?? -1,
      output: spawnError && !output ? spawnError : output,
      timedOut: r.timedOut,
      durationMs: Math.round(performance.now() - started),
      spawnError,
    };
  },
};

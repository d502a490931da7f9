// Litestream as a supervised child of the controller: in its own process
// group (a Ctrl-C or a signal to the controller's group does not cut a
// replica sync short; stop() signals the whole group), its output logged line
// by line, restarted with backoff when it dies, stopped at shutdown with a
// deadline (SIGTERM lets it make its final sync; SIGKILL after the deadline).
// A pid file lets the next start stop a Litestream a killed controller left
// behind, so two never replicate one database.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import readline from "node:readline";
import type { Logger } from "../../common/logger.js";

export interface LitestreamRun {
  /** argv after the binary, e.g. ["replicate", "-config", FILE]. */
  args: string[];
}

export interface SupervisorOptions {
  binary: string;
  /** Called before every (re)start: writes the config and returns the arguments. */
  prepare: () => Promise<LitestreamRun>;
  pidFile: string;
  logger: Logger;
  backoffMs?: { first: number; max: number };
  /** A run that lasted this long resets the backoff. */
  healthyAfterMs?: number;
}

export type SupervisorState = "starting" | "running" | "restarting" | "stopped";

export interface SupervisorStatus {
  state: SupervisorState;
  pid: number;
  restarts: number;
  lastExit: string;
  lastError: string;
}

export class LitestreamSupervisor {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stateNow: SupervisorState = "stopped";
  private restarts = 0;
  private failuresInARow = 0;
  private lastExit = "";
  private lastError = "";
  private stopping = false;

  constructor(private readonly o: SupervisorOptions) {}

  status(): SupervisorStatus {
    return { state: this.stateNow, pid: this.child?.pid ?? 0, restarts: this.restarts, lastExit: this.lastExit, lastError: this.lastError };
  }

  async start(): Promise<void> {
    await stopLeftover(this.o.pidFile, this.o.logger);
    this.stopping = false;
    await this.spawnOnce();
  }

  private async spawnOnce(): Promise<void> {
    if (this.stopping) return;
    this.stateNow = "starting";
    let run: LitestreamRun;
    try {
      run = await this.o.prepare();
    } catch (err) {
      return this.died(`preparing its config failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.stopping) return;
    const startedAt = Date.now();
    const child = spawn(this.o.binary, run.args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.exited = new Promise<void>((resolve) => {
      child.once("error", (err) => {
        this.lastError = err.message;
        resolve();
      });
      child.once("exit", (code, signal) => {
        this.lastExit = signal ? `killed by ${signal}` : `exit code ${code}`;
        resolve();
      });
    });
    for (const stream of [child.stdout!, child.stderr!]) readline.createInterface({ input: stream }).on("line", (line) => this.logLine(line));
    if (child.pid) {
      writeFileSync(this.o.pidFile, `${child.pid}\n`, { mode: 0o600 });
      this.stateNow = "running";
      this.o.logger.info("litestream started", { pid: child.pid, args: run.args });
    }
    void this.exited.then(() => {
      if (this.child !== child) return;
      this.child = undefined;
      if (Date.now() - startedAt >= (this.o.healthyAfterMs ?? 30_000)) this.failuresInARow = 0;
      if (!this.stopping) this.died(this.lastError && !child.pid ? `could not be started: ${this.lastError}` : `exited (${this.lastExit})`);
    });
  }

  private died(why: string): void {
    this.lastError = why;
    this.failuresInARow++;
    this.restarts++;
    const { first, max } = this.o.backoffMs ?? { first: 1000, max: 60_000 };
    const waitMs = Math.min(first * 2 ** (this.failuresInARow - 1), max);
    this.stateNow = "restarting";
    this.o.logger.error("litestream stopped; replication is paused until it runs again", { why, restart_in_ms: waitMs, restarts: this.restarts });
    this.timer = setTimeout(() => void this.spawnOnce(), waitMs);
  }

  /** SIGTERM to its group (its final sync), SIGKILL after `graceMs`; resolves once it is gone. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      signalGroup(child.pid, "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.o.logger.warn("litestream did not stop in time; killing it", { grace_ms: graceMs });
          signalGroup(child.pid!, "SIGKILL");
          resolve();
        }, graceMs);
      });
      await Promise.race([this.exited, killed]);
      clearTimeout(timer);
      await this.exited;
    }
    this.child = undefined;
    this.stateNow = "stopped";
    rmSync(this.o.pidFile, { force: true });
  }

  private logLine(line: string): void {
    const level = /level=(\w+)/.exec(line)?.[1] ?? (/\bERROR\b/.test(line) ? "ERROR" : "INFO");
    const msg = /msg="([^"]*)"|msg=(\S+)/.exec(line);
    const text = msg?.[1] ?? msg?.[2] ?? line;
    if (level === "ERROR") {
      this.lastError = text;
      this.o.logger.error("litestream", { line });
    } else if (level === "WARN") this.o.logger.warn("litestream", { line });
    // Every replicated segment is a line: kept at debug.
    else if (/wal segment/.test(text)) this.o.logger.debug("litestream", { line });
    else this.o.logger.info("litestream", { line });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** A Litestream a killed controller left running on this database: stopped before a new one starts. */
async function stopLeftover(pidFile: string, logger: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !isOurLitestream(pid, pidFile)) return rmSync(pidFile, { force: true });
  logger.warn("stopping a litestream left running by a previous controller", { pid });
  signalGroup(pid, "SIGTERM");
  for (let i = 0; i < 50 && isOurLitestream(pid, pidFile); i++) await new Promise((r) => setTimeout(r, 100));
  if (isOurLitestream(pid, pidFile)) signalGroup(pid, "SIGKILL");
  rmSync(pidFile, { force: true });
}

/** The process is a litestream leading its own group, started for this database (its config sits beside the pid file). */
function isOurLitestream(pid: number, pidFile: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    return pgid === pid && /litestream$/.test(cmdline[0] ?? "") && cmdline.some((a) => a === pidFile.replace(/\.pid$/, ".yml"));
  } catch {
    return false;
  }
}

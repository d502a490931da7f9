// Probes continuously through a reload window: rounds of every probe, a short
// pause, again. Refused connections count from the moment the reload is sent
// (markWindowStart): they are what a dropped listener looks like. Other
// failures count only once the new generation serves (markHealthStart), so a
// reload that heals a failing service is not blamed for the old generation's
// answers while it drains.
import type { ProbeSpec } from "../config/agent-config.js";
import type { CommandRunner } from "../process/command-runner.js";
import { runProbe, type ProbeOutcome } from "./run-probe.js";

export interface ProbeCounts {
  sent: number;
  failed: number;
  refused: number;
  firstFailure: string;
}

export class ProbeLoop {
  private rounds: { startedAt: number; results: ProbeOutcome[] }[] = [];
  private stopped = false;
  private windowStart = Infinity;
  private healthStart = Infinity;
  private running: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  /** A mark arrived while a round was in flight: the next round starts as soon as it ends. */
  private wakePending = false;
  private roundWaiters: (() => void)[] = [];

  constructor(
    private readonly probes: ProbeSpec[],
    private readonly intervalMs: number,
    private readonly runner: CommandRunner,
  ) {}

  /** Ready to probe: the first round starts with the window (markWindowStart); one before it would count for nothing. */
  start(): this {
    if (this.probes.length) this.running = this.loop();
    return this;
  }

  private async loop() {
    await this.pause(undefined);
    while (!this.stopped) {
      const startedAt = performance.now();
      const results = await Promise.all(this.probes.map((p) => runProbe(p, this.runner)));
      this.rounds.push({ startedAt, results });
      for (const w of this.roundWaiters.splice(0)) w();
      if (this.stopped) break;
      if (this.wakePending) {
        this.wakePending = false;
        continue;
      }
      await this.pause(this.intervalMs);
    }
    for (const w of this.roundWaiters.splice(0)) w();
  }

  /** Until a mark (or stop) wakes the loop, or `ms` passed. */
  private pause(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
      const t = ms === undefined ? undefined : setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Starts a round now, or right after the one in flight. */
  private startRoundSoon(): void {
    if (this.wake) this.wake();
    else this.wakePending = true;
  }

  /** Resolves when the next probe round completes (or the loop stops). */
  nextRound(): Promise<void> {
    if (this.stopped || !this.probes.length) return Promise.resolve();
    return new Promise((resolve) => this.roundWaiters.push(resolve));
  }

  /**
   * The reload is being sent: count from now on, and start a round in the
   * next turn of the event loop, so that a signal sent in this one leaves
   * first (a slower trigger, a command, is probed while it runs).
   */
  markWindowStart(): void {
    this.windowStart = performance.now();
    setImmediate(() => this.startRoundSoon());
  }

  /** The new generation serves: failures count from now on. */
  markHealthStart(at = performance.now()): void {
    this.healthStart = at;
    this.startRoundSoon();
  }

  get counts(): ProbeCounts {
    const c: ProbeCounts = { sent: 0, failed: 0, refused: 0, firstFailure: "" };
    for (const round of this.rounds) {
      if (round.startedAt < this.windowStart) continue;
      for (const r of round.results) {
        c.sent++;
        const counts = r.refused || (!r.ok && round.startedAt >= this.healthStart);
        if (!counts) continue;
        c.failed++;
        if (r.refused) c.refused++;
        if (!c.firstFailure) c.firstFailure = `${r.probe}: ${r.detail}`;
      }
    }
    return c;
  }

  /** Probe rounds that started at or after `since` (performance.now() time). */
  roundsSince(since: number): number {
    return this.rounds.filter((r) => r.startedAt >= since).length;
  }

  get hasProbes(): boolean {
    return this.probes.length > 0;
  }

  async stop(): Promise<ProbeCounts> {
    this.stopped = true;
    this.wake?.();
    for (const w of this.roundWaiters.splice(0)) w();
    await this.running;
    return this.counts;
  }
}

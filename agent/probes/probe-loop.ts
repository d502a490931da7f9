// Probes continuously through a reload window: rounds of every probe, a short
// pause, again. Only rounds started after markWindowStart() are counted, so a
// service that was unhealthy before a reload that heals it is not blamed.
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
  readonly counts: ProbeCounts = { sent: 0, failed: 0, refused: 0, firstFailure: "" };
  private rounds: { startedAt: number; ok: boolean }[] = [];
  private stopped = false;
  private windowStart = Infinity;
  private running: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;

  constructor(
    private readonly probes: ProbeSpec[],
    private readonly intervalMs: number,
    private readonly runner: CommandRunner,
  ) {}

  start(): this {
    if (this.probes.length) this.running = this.loop();
    return this;
  }

  private async loop() {
    while (!this.stopped) {
      const startedAt = performance.now();
      const results = await Promise.all(this.probes.map((p) => runProbe(p, this.runner)));
      if (startedAt >= this.windowStart) this.record(results);
      this.rounds.push({ startedAt, ok: results.every((r) => r.ok) });
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.intervalMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private record(results: ProbeOutcome[]) {
    for (const r of results) {
      this.counts.sent++;
      if (!r.ok) {
        this.counts.failed++;
        if (r.refused) this.counts.refused++;
        if (!this.counts.firstFailure) this.counts.firstFailure = `${r.probe}: ${r.detail}`;
      }
    }
  }

  /** Counts from now on, and starts a round at once. */
  markWindowStart(): void {
    this.windowStart = performance.now();
    this.wake?.();
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
    await this.running;
    return this.counts;
  }
}

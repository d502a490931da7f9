// Caps concurrent Status/Probe work: each reads /proc, hashes files and runs
// probes, so hundreds at once would cost seconds and hundreds of MB. Calls
// beyond the cap wait their turn; beyond the queue they are refused.
import { resourceExhausted } from "../../common/errors.js";

export class ReadLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxConcurrent: number,
    private readonly maxWaiting: number,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxWaiting) throw resourceExhausted(`${this.running} status/probe reads running and ${this.waiting.length} waiting; retry later`);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

// A token bucket per caller: bursts up to twice the rate, then `rate` per second.
import { resourceExhausted } from "../../common/errors.js";

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly ratePerSecond: number) {}

  take(caller: string, now = Date.now()): void {
    const burst = this.ratePerSecond * 2;
    const b = this.buckets.get(caller) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(caller, b);
      throw resourceExhausted(`too many requests from ${caller} (limits.mutations_per_second: ${this.ratePerSecond}); retry later`);
    }
    b.tokens -= 1;
    this.buckets.set(caller, b);
    if (this.buckets.size > 10_000) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

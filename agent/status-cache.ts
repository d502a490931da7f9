// Status answered from cached, bounded work: a service's report (its /proc
// reads, probes and config hashes) is computed at most once per TTL, shared by
// every caller asking meanwhile, and dropped as soon as a change to the
// service starts or ends, so a report never straddles a reload.
export class StatusCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T>; epoch: number }>();
  /** Bumped by invalidate: a computation started before it is not kept. */
  private readonly epochs = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const epoch = this.epochs.get(key) ?? 0;
    const hit = this.entries.get(key);
    if (hit && hit.epoch === epoch && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = compute();
    const entry = { at: this.now(), value, epoch };
    this.entries.set(key, entry);
    // A failure is not cached: the next caller tries again.
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  invalidate(key: string): void {
    this.epochs.set(key, (this.epochs.get(key) ?? 0) + 1);
    this.entries.delete(key);
  }

  clear(): void {
    for (const key of this.entries.keys()) this.invalidate(key);
  }
}

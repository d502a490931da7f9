// How far the replica is behind the controller's own writes, in seconds: the
// age of the oldest history write not yet known to be in the replica (0 when
// everything is). Pure: fed with the controller's writes and with samples of
// Litestream's positions (its /metrics and its shadow WAL), it never reads a
// clock or a file itself.
//
// A write is known replicated in two steps, because Litestream copies the
// database's WAL to its shadow WAL (every second) and the shadow WAL to the
// replica (every sync interval):
//   1. baseline: a sample taken after the write; once two more successful
//      Litestream syncs have ended (one of them then started after the
//      baseline), the shadow WAL holds the write; the shadow position seen then
//      is the target;
//   2. the replica's position reaches that target (same generation).
// So the figure is an upper bound, about one poll plus one second coarse.

export interface LagSample {
  /** Successful Litestream database syncs so far (litestream_sync_count - litestream_sync_error_count). */
  syncs: number;
  generation: string;
  shadowIndex: number;
  /** Size of the shadow WAL file at shadowIndex. */
  shadowOffset: number;
  replicaIndex: number;
  replicaOffset: number;
}

interface Target {
  seq: number;
  generation: string;
  index: number;
  offset: number;
}

export class ReplicationLag {
  private seq = 0;
  /** Unconfirmed writes, grouped at each baseline: the oldest write of each group and the group's last seq. */
  private groups: { firstAt: number; lastSeq: number }[] = [];
  private groupOpen = false;
  private baseline: { seq: number; syncs: number } | undefined;
  private target: Target | undefined;
  private confirmedAt: number | undefined;

  /** A history write was committed at `now` (ms). */
  noteWrite(now: number): void {
    this.seq++;
    const open = this.groupOpen ? this.groups.at(-1) : undefined;
    if (open) open.lastSeq = this.seq;
    else {
      this.groups.push({ firstAt: now, lastSeq: this.seq });
      this.groupOpen = true;
    }
  }

  /** A sample of Litestream's positions taken at `now` (ms). */
  observe(now: number, s: LagSample): void {
    if (this.target && s.generation !== this.target.generation) {
      // A new generation starts with a snapshot of everything; follow it from scratch.
      this.target = undefined;
      this.baseline = undefined;
    }
    if (this.target && (s.replicaIndex > this.target.index || (s.replicaIndex === this.target.index && s.replicaOffset >= this.target.offset))) {
      const upTo = this.target.seq;
      this.groups = this.groups.filter((g) => g.lastSeq > upTo);
      if (this.groups.length === 0) this.groupOpen = false;
      this.target = undefined;
      this.confirmedAt = now;
    }
    if (this.baseline && s.syncs < this.baseline.syncs) this.baseline = undefined; // Litestream restarted: its counters too
    if (this.baseline && !this.target && s.syncs >= this.baseline.syncs + 2) {
      this.target = { seq: this.baseline.seq, generation: s.generation, index: s.shadowIndex, offset: s.shadowOffset };
      this.baseline = undefined;
    }
    if (!this.baseline) {
      this.baseline = { seq: this.seq, syncs: s.syncs };
      this.groupOpen = false;
    }
  }

  /** Seconds the oldest unreplicated write has waited; 0 when the replica holds every write. */
  lagSeconds(now: number): number {
    const oldest = this.groups[0];
    return oldest ? Math.max(0, now - oldest.firstAt) / 1000 : 0;
  }

  /** When the replica was last seen to hold everything up to a write (ms), if ever. */
  get lastConfirmedAt(): number | undefined {
    return this.confirmedAt;
  }
}

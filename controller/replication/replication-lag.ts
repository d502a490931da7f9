// How far the replica is behind the controller's own writes, in seconds: the
// age of the oldest history write not yet known to be in the replica (0 when
// everything is). Pure: fed with the controller's writes and with samples of
// Litestream's positions (its /metrics and its shadow WAL), it never reads a
// clock or a file itself.
//
// A write is known replicated in two steps, because Litestream copies the
// database's WAL to its shadow WAL (every second) and the shadow WAL to the
// replica (every sync interval):
//   1. baseline: the first sample taken after the write; once two more
//      successful Litestream syncs have ended (one of them then started after
//      the baseline), the shadow WAL holds the write; the shadow position seen
//      then is the target;
//   2. the replica's position reaches that target (same generation).
// Every sample may start a baseline, so the steps overlap. The figure is an
// upper bound, coarse by about one sample and one Litestream sync.

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

/** Kept per queue at most; dropping a middle entry only delays a confirmation, never makes a wrong one. */
const MAX_PENDING = 100;

export class ReplicationLag {
  private seq = 0;
  /** Unconfirmed writes, grouped at each baseline: the oldest write of each group and the group's last seq. */
  private groups: { firstAt: number; lastSeq: number }[] = [];
  private groupOpen = false;
  private baselines: { seq: number; syncs: number }[] = [];
  private lastBaselineSeq = 0;
  private targets: Target[] = [];
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
    // A new generation starts with a snapshot of everything; its old positions mean nothing.
    this.targets = this.targets.filter((t) => t.generation === s.generation);
    const reached = this.targets.filter((t) => s.replicaIndex > t.index || (s.replicaIndex === t.index && s.replicaOffset >= t.offset));
    if (reached.length) {
      const upTo = Math.max(...reached.map((t) => t.seq));
      this.targets = this.targets.filter((t) => t.seq > upTo);
      this.groups = this.groups.filter((g) => g.lastSeq > upTo);
      if (this.groups.length === 0) this.groupOpen = false;
      this.confirmedAt = now;
    }
    // Litestream restarted (its counters too): wait for two syncs from here.
    for (const b of this.baselines) if (b.syncs > s.syncs) b.syncs = s.syncs;
    const ready = this.baselines.filter((b) => s.syncs >= b.syncs + 2);
    if (ready.length) {
      this.targets.push({ seq: Math.max(...ready.map((b) => b.seq)), generation: s.generation, index: s.shadowIndex, offset: s.shadowOffset });
      this.baselines = this.baselines.filter((b) => !ready.includes(b));
    }
    if (this.seq > this.lastBaselineSeq) {
      this.baselines.push({ seq: this.seq, syncs: s.syncs });
      this.lastBaselineSeq = this.seq;
      this.groupOpen = false;
    }
    this.baselines = bounded(this.baselines);
    this.targets = bounded(this.targets);
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

function bounded<T>(list: T[]): T[] {
  return list.length > MAX_PENDING ? [...list.slice(0, MAX_PENDING / 2), ...list.slice(-MAX_PENDING / 2)] : list;
}

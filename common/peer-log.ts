// A trace of refusals (TLS handshakes, 403s) without letting a flood fill the
// log: at most one line per source address per window, saying how many more
// were refused since the last line. The table of addresses is bounded; when it
// is full of recent ones, a new address is counted but not logged.
import type { LogFields } from "./logger.js";

export class PeerLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  private unlisted = 0;

  constructor(
    private readonly write: (msg: string, fields: LogFields) => void,
    private readonly windowMs = 60_000,
    private readonly maxPeers = 1024,
    private readonly now: () => number = Date.now,
  ) {}

  note(peer: string, msg: string, fields: LogFields): void {
    const t = this.now();
    const seen = this.last.get(peer);
    if (seen && t - seen.at < this.windowMs) {
      seen.suppressed++;
      return;
    }
    if (!seen && this.last.size >= this.maxPeers && !this.prune(t)) {
      this.unlisted++;
      return;
    }
    this.last.set(peer, { at: t, suppressed: 0 });
    const extra = { ...(seen?.suppressed ? { more_since_last_line: seen.suppressed } : {}), ...(this.unlisted ? { from_other_addresses_unlogged: this.unlisted } : {}) };
    this.unlisted = 0;
    this.write(msg, { peer, ...fields, ...extra });
  }

  /** Drops addresses whose window is over; true when that made room. */
  private prune(t: number): boolean {
    for (const [peer, e] of this.last) if (t - e.at >= this.windowMs) this.last.delete(peer);
    return this.last.size < this.maxPeers;
  }
}

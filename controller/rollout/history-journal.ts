// A running rollout's writes to the history, in order. The first write that
// fails (a full disk, a read-only file system) puts the journal in fault: it
// tells its owner once, so the rollout stops acting, keeps every later write
// queued in memory, and retries the queue with backoff until a write succeeds
// again. Nothing is dropped unless the controller gives up on it at shutdown.
//
// Writes made inside group() (a batch) are held and committed together, in one
// transaction when the store offers one: at a write-ahead point (commitHeld:
// what must be recorded before agents are asked), when the group ends, and at
// most every groupFlushMs meanwhile, so a long batch still shows its progress.
// A group's failed commit is a failed write like any other: all of it stays queued.
import type { Logger } from "../../common/logger.js";

export interface JournalOptions {
  logger: Logger;
  /** Called once, on the first failed write. */
  onFault: (err: Error) => void;
  firstRetryMs?: number;
  maxRetryMs?: number;
  /** Runs several writes as one: all of them are made, or (it throws) none. Without it each write stands alone. */
  transaction?: (work: () => void) => void;
  /** How long a group holds its writes at most before committing them. */
  groupFlushMs?: number;
}

interface Entry {
  what: string;
  write: () => void;
}

export const GROUP_FLUSH_MS = 1000;

export class HistoryJournal {
  private readonly queue: Entry[] = [];
  private fault: Error | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private groupTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  /** Open groups: while above 0, writes are held. */
  private holding = 0;
  /** Set at shutdown: a write that fails is dropped instead of queued and retried. */
  private givenUp = false;
  private dropped = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly options: JournalOptions) {
    this.retryMs = options.firstRetryMs ?? 250;
  }

  /** Writes now (or with the group it belongs to), or queues behind earlier writes that could not be made yet. Never throws. */
  write(what: string, write: () => void): void {
    this.queue.push({ what, write });
    if (this.givenUp) {
      if (!this.commit()) this.drop(this.queue.splice(0).length);
      return;
    }
    // In fault, the retry timer writes the queue.
    if (this.retryTimer) return;
    if (this.holding > 0) this.holdForGroup();
    else this.commitNow();
  }

  /** The writes made while `work` runs are committed together. */
  async group<T>(work: () => Promise<T>): Promise<T> {
    this.holding++;
    try {
      return await work();
    } finally {
      this.holding--;
      if (this.holding === 0) {
        clearTimeout(this.groupTimer);
        this.groupTimer = undefined;
        if (!this.retryTimer && !this.givenUp) this.commitNow();
      }
    }
  }

  /** A write-ahead point inside a group: what it holds is committed now, before the caller acts on it. */
  commitHeld(): void {
    if (this.holding === 0 || this.retryTimer || this.givenUp || this.queue.length === 0) return;
    clearTimeout(this.groupTimer);
    this.groupTimer = undefined;
    this.commitNow();
  }

  private holdForGroup() {
    this.groupTimer ??= setTimeout(() => {
      this.groupTimer = undefined;
      if (!this.retryTimer && !this.givenUp) this.commitNow();
    }, this.options.groupFlushMs ?? GROUP_FLUSH_MS);
  }

  private commitNow() {
    if (this.commit()) this.release();
    else this.scheduleRetry();
  }

  /** Makes every queued write, in order: in one transaction when there are several and the store offers it. */
  private commit(): boolean {
    let current = this.queue[0];
    try {
      const tx = this.options.transaction;
      // Always one transaction when the store offers it: a write of several statements (a restore's
      // step, added and marked running) is then whole or absent, and its retry cannot half-repeat.
      if (tx) {
        const entries = this.queue.slice();
        tx(() => entries.forEach((e) => ((current = e), e.write())));
        this.queue.splice(0, entries.length);
      } else {
        // Without a transaction, what was written is not written again: stop at the first failure.
        while ((current = this.queue[0])) {
          current.write();
          this.queue.shift();
        }
      }
      return true;
    } catch (err) {
      this.failed(current?.what ?? "", err);
      return false;
    }
  }

  private failed(what: string, err: unknown) {
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.fault) return;
    this.fault = e;
    this.options.logger.error("history write failed; the rollout stops acting and keeps its results in memory until the history can be written", { write: what, error: e.message });
    this.options.onFault(e);
  }

  private scheduleRetry() {
    if (this.retryTimer || this.givenUp) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.commit()) return this.scheduleRetry();
      this.options.logger.info("history writable again; queued writes recorded");
      this.release();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs ?? 10_000);
  }

  /** Resolves once every write has been made (or the journal was abandoned). */
  drained(): Promise<void> {
    if (this.queue.length === 0 || this.givenUp) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Controller shutdown: what is queued gets one last attempt, and from now on
   * a write that fails is dropped — the controller does not wait for a disk.
   * The rollout is then interrupted at the next start-up, and resume asks the
   * agents again (same request ids) for the hosts in doubt.
   */
  abandon(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.groupTimer);
    this.retryTimer = this.groupTimer = undefined;
    this.givenUp = true;
    if (!this.commit()) this.drop(this.queue.splice(0).length);
    this.release();
  }

  private drop(n: number) {
    if (n === 0) return;
    this.dropped += n;
    this.options.logger.error("history still not writable at shutdown; writes dropped: at start-up the rollout is interrupted and resume asks the agents again for the hosts in doubt", { writes: n, dropped: this.dropped });
  }

  private release() {
    if (this.queue.length && !this.givenUp) return;
    for (const w of this.waiters.splice(0)) w();
  }
}

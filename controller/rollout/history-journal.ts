// A running rollout's writes to the history, in order. The first write that
// fails (a full disk, a read-only file system) puts the journal in fault: it
// tells its owner once, so the rollout stops acting, keeps every later write
// queued in memory, and retries the queue with backoff until a write succeeds
// again. Nothing is dropped unless the controller gives up on it at shutdown.
import type { Logger } from "../../common/logger.js";

export interface JournalOptions {
  logger: Logger;
  /** Called once, on the first failed write. */
  onFault: (err: Error) => void;
  /**
   * Runs one write as a transaction (HistoryStore.atomically): a write made of
   * several calls that fails half-way leaves nothing behind, so its retry
   * cannot trip over its own first half (a UNIQUE step row, say).
   */
  atomically?: (write: () => void) => void;
  firstRetryMs?: number;
  maxRetryMs?: number;
}

export class HistoryJournal {
  private readonly queue: { what: string; write: () => void }[] = [];
  private fault: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryMs: number;
  /** Set at shutdown: a write that fails is dropped instead of queued and retried. */
  private givenUp = false;
  private dropped = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly options: JournalOptions) {
    this.retryMs = options.firstRetryMs ?? 250;
  }

  /** Writes now, or queues behind earlier writes that could not be made yet. Never throws. */
  write(what: string, write: () => void): void {
    if (this.queue.length === 0 && this.attempt(what, write)) return;
    if (this.givenUp) this.drop(1);
    else this.queue.push({ what, write });
  }

  private attempt(what: string, write: () => void): boolean {
    try {
      if (this.options.atomically) this.options.atomically(write);
      else write();
      return true;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (!this.fault) {
        this.fault = e;
        this.options.logger.error("history write failed; the rollout stops acting and keeps its results in memory until the history can be written", { write: what, error: e.message });
        this.options.onFault(e);
      }
      if (!this.givenUp) this.schedule();
      return false;
    }
  }

  private schedule() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs ?? 10_000);
  }

  /** Writes what is queued, in order, stopping at the first that still fails. */
  private flush() {
    while (this.queue.length) {
      const next = this.queue[0]!;
      if (!this.attempt(next.what, next.write)) return;
      this.queue.shift();
    }
    if (this.queue.length === 0 && this.fault) this.options.logger.info("history writable again; queued writes recorded");
    this.release();
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
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.givenUp = true;
    this.flush();
    this.drop(this.queue.splice(0).length);
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

// One place where everything that watches the controller from the side
// (metrics, webhooks, the web view) hears about rollouts and schedule runs.
// Observers run synchronously inside the rollout's event path, so they must
// only record or enqueue; one that throws is logged and the rollout goes on.
import type { Logger } from "../../common/logger.js";
import type { RolloutRecord, ScheduleRun } from "../history/history-store.js";
import type { RolloutEvent } from "../rollout/rollout-executor.js";

export interface ControllerObserver {
  /** Every event of every rollout, with the rollout as it was when this run of it started. */
  rolloutEvent?(event: RolloutEvent, rollout: RolloutRecord): void;
  /** Every decided schedule run (started, unchanged, skipped). */
  scheduleRun?(run: ScheduleRun): void;
}

export class ControllerEvents {
  private readonly observers = new Set<ControllerObserver>();

  constructor(private readonly logger: Logger) {}

  /** Registers an observer; returns its removal. */
  add(observer: ControllerObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** A listener for one rollout run that also tells every observer. */
  tee(rollout: RolloutRecord, listener: (e: RolloutEvent) => void): (e: RolloutEvent) => void {
    return (e) => {
      try {
        listener(e);
      } finally {
        this.each((o) => o.rolloutEvent?.(e, rollout));
      }
    };
  }

  scheduleRun(run: ScheduleRun): void {
    this.each((o) => o.scheduleRun?.(run));
  }

  private each(call: (o: ControllerObserver) => void): void {
    for (const o of this.observers) {
      try {
        call(o);
      } catch (err) {
        this.logger.warn("controller observer failed", { error: err });
      }
    }
  }
}

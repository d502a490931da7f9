// Measures every history write without touching the store: a proxy that times
// the writing methods and passes everything else through unchanged.
import type { HistoryStore } from "../history/history-store.js";

const WRITES = new Set<string>([
  "createRollout", "resumeRollout", "addSteps", "markStepsRunning", "finishSteps", "skipPendingSteps", "finishRollout", "addEvent",
  "interruptRunning", "interruptRollout", "saveConfigVersion", "setSchedulePaused", "setScheduleSuccess", "recordScheduleRun",
]);

export function timedHistory<T extends HistoryStore>(store: T, observe: (operation: string, seconds: number) => void): T {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (typeof prop !== "string" || !WRITES.has(prop)) return value.bind(target);
      return (...args: unknown[]) => {
        const t0 = process.hrtime.bigint();
        try {
          return value.apply(target, args);
        } finally {
          observe(prop, Number(process.hrtime.bigint() - t0) / 1e9);
        }
      };
    },
  });
}

// Pure classification of a reload from the facts gathered, in the order the
// design fixes: what could not run, then identity, rejection, health.
import type { GenerationSource } from "./generation-watcher.js";

export type OutcomeWord = "reloaded" | "restarted" | "rejected" | "unhealthy" | "not_running" | "refused" | "failed";

export interface Identity {
  pid: number;
  startTime: number;
  invocationId?: string;
}

export interface ReloadFacts {
  /** Set when the reload never got as far as being sent. */
  stoppedBefore?: { outcome: "not_running" | "refused" | "failed" | "rejected"; reason: string };
  triggerFailure?: { outcome: "refused" | "failed"; reason: string };
  mainBefore?: Identity;
  /** Undefined when the method has no main process to watch. */
  mainAfter?: Identity | "gone";
  generation: { source: GenerationSource; observed: boolean; timeoutMs: number };
  rejectMarker?: string;
  probes: { declared: boolean; sent: number; failed: number; refused: number; firstFailure: string };
  healthyForMs: number;
  /** Probe rounds completed after the new generation appeared. */
  roundsAfterGeneration: number;
  restartAllowed: boolean;
}

export interface Classification {
  outcome: OutcomeWord;
  ok: boolean;
  reason: string;
}

export function identityChanged(before: Identity, after: Identity): string | undefined {
  if (after.pid !== before.pid) return `main PID changed ${before.pid} -> ${after.pid}`;
  if (after.startTime !== before.startTime) return `process ${before.pid} was replaced (start time ${before.startTime} -> ${after.startTime})`;
  if (before.invocationId && after.invocationId && before.invocationId !== after.invocationId) return `systemd InvocationID changed ${before.invocationId} -> ${after.invocationId}`;
  return undefined;
}

export function classifyOutcome(f: ReloadFacts): Classification {
  if (f.stoppedBefore) return { outcome: f.stoppedBefore.outcome, ok: false, reason: f.stoppedBefore.reason };
  if (f.triggerFailure) return { outcome: f.triggerFailure.outcome, ok: false, reason: f.triggerFailure.reason };

  if (f.mainBefore && f.mainAfter === "gone") {
    return { outcome: "failed", ok: false, reason: `the main process (pid ${f.mainBefore.pid}) died after the reload and nothing replaced it` };
  }
  if (f.mainBefore && f.mainAfter && f.mainAfter !== "gone") {
    const changed = identityChanged(f.mainBefore, f.mainAfter);
    if (changed) {
      return f.restartAllowed
        ? { outcome: "restarted", ok: true, reason: `${changed}: the service restarted (allowed by this request and the service config)` }
        : { outcome: "restarted", ok: false, reason: `${changed}: the service restarted instead of reloading, which drops connections` };
    }
  }
  if (f.rejectMarker) return { outcome: "rejected", ok: false, reason: `the service rejected the new config; its log says: ${f.rejectMarker.trim()}` };
  if (f.generation.source !== "none" && !f.generation.observed) {
    return { outcome: "rejected", ok: false, reason: `no new generation (${f.generation.source}) within ${f.generation.timeoutMs}ms: the old config is still serving` };
  }
  if (f.probes.refused > 0) return { outcome: "unhealthy", ok: false, reason: `${f.probes.refused} of ${f.probes.sent} probes were refused during the reload window (${f.probes.firstFailure})` };
  if (f.probes.failed > 0) return { outcome: "unhealthy", ok: false, reason: `${f.probes.failed} of ${f.probes.sent} probes failed during the reload window (${f.probes.firstFailure})` };
  if (f.probes.declared && f.roundsAfterGeneration === 0) return { outcome: "unhealthy", ok: false, reason: "no probe round completed after the reload" };

  const health = f.probes.declared ? `healthy for ${f.healthyForMs}ms, ${f.probes.sent} probes, none failed` : "no health probes declared";
  if (f.generation.source === "none") {
    return { outcome: "reloaded", ok: true, reason: `signal delivered, main process unchanged, ${health}; weak evidence: no new generation could be observed` };
  }
  return { outcome: "reloaded", ok: true, reason: `new generation (${f.generation.source}) observed, main process unchanged, ${health}` };
}

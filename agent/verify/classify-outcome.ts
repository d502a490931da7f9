// Pure classification of a reload from the facts gathered: what could not
// run, then identity, rejection, the generation, health, and last whether
// anything proved the reload at all. An outcome never claims more than its
// evidence shows.
import type { OutcomeWord } from "../../common/outcome-words.js";
import { plural } from "../../common/plural.js";
import type { GenerationSource } from "./generation-watcher.js";

export type { OutcomeWord };

export interface Identity {
  pid: number;
  startTime: number;
  invocationId?: string;
}

export interface GenerationFacts {
  source: GenerationSource;
  observed: boolean;
  timeoutMs: number;
  /** What a complete new generation needed, e.g. "the old workers to stop listening". */
  awaited?: string;
  /** What was seen short of that, e.g. "new workers 12,13 are up; old workers 10 still listen". */
  progress?: string;
  /** The evidence could not be read (journalctl failed, ...): nothing can be concluded from its silence. */
  readError?: string;
}

export interface ReloadFacts {
  /** Set when the reload never got as far as being sent. */
  stoppedBefore?: { outcome: "not_running" | "refused" | "failed" | "rejected"; reason: string };
  triggerFailure?: { outcome: "refused" | "failed"; reason: string };
  mainBefore?: Identity;
  /** Undefined when the method has no main process to watch. */
  mainAfter?: Identity | "gone";
  /** What looking for the main process after the reload last said, when it was not found. */
  mainGoneReason?: string;
  generation: GenerationFacts;
  rejectMarker?: string;
  /** The wait was cut short by the caller (shutdown, cancelled request). */
  aborted?: boolean;
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

const fail = (outcome: OutcomeWord, reason: string): Classification => ({ outcome, ok: false, reason });

export function classifyOutcome(f: ReloadFacts): Classification {
  if (f.stoppedBefore) return fail(f.stoppedBefore.outcome, f.stoppedBefore.reason);
  if (f.triggerFailure) return fail(f.triggerFailure.outcome, f.triggerFailure.reason);
  return identityOutcome(f) ?? generationOutcome(f) ?? healthOutcome(f) ?? proofOutcome(f);
}

function identityOutcome(f: ReloadFacts): Classification | undefined {
  if (f.mainBefore && f.mainAfter === "gone") return fail("failed", `the main process (pid ${f.mainBefore.pid}) died after the reload and nothing replaced it${f.mainGoneReason ? ` (${f.mainGoneReason})` : ""}`);
  if (!f.mainBefore || !f.mainAfter || f.mainAfter === "gone") return undefined;
  const changed = identityChanged(f.mainBefore, f.mainAfter);
  if (!changed) return undefined;
  return f.restartAllowed
    ? { outcome: "restarted", ok: true, reason: `${changed}: the service restarted (allowed by this request and the service config)` }
    : fail("restarted", `${changed}: the service restarted instead of reloading, which drops connections`);
}

/** rejected only when the service demonstrably kept its old config; a generation that started but did not finish in time is a failure. */
function generationOutcome(f: ReloadFacts): Classification | undefined {
  if (f.rejectMarker) return fail("rejected", `the service rejected the new config; its log says: ${f.rejectMarker.trim()}`);
  const g = f.generation;
  if (g.source === "none" || g.observed) return undefined;
  const awaited = g.awaited ?? `a new generation (${g.source})`;
  if (g.readError && !g.progress) return fail("failed", `could not read the generation evidence (${g.source}): ${g.readError}`);
  if (f.aborted) return fail("failed", `aborted while waiting for ${awaited}${g.progress ? `: ${g.progress}` : "; nothing new was seen yet"}`);
  if (g.progress) return fail("failed", `timed out after ${g.timeoutMs}ms waiting for ${awaited}: ${g.progress}`);
  return fail("rejected", `no new generation (${g.source}) within ${g.timeoutMs}ms: the old config is still serving`);
}

function healthOutcome(f: ReloadFacts): Classification | undefined {
  const p = f.probes;
  if (p.refused > 0) return fail("unhealthy", `${p.refused} of ${plural(p.sent, "probe")} ${p.refused === 1 ? "was" : "were"} refused during the reload window (${p.firstFailure})`);
  if (p.failed > 0) return fail("unhealthy", `${p.failed} of ${plural(p.sent, "probe")} failed during the reload window (${p.firstFailure})`);
  if (p.declared && f.roundsAfterGeneration === 0) return fail("unhealthy", "no probe round completed after the reload");
  return undefined;
}

/** Unproven is not success: without a generation observed, the reload is unverified. */
function proofOutcome(f: ReloadFacts): Classification {
  const health = f.probes.declared ? `healthy for ${f.healthyForMs}ms, ${plural(f.probes.sent, "probe")}, ${f.probes.sent === 1 ? "not failed" : "none failed"}` : "no health probes declared";
  if (f.generation.source === "none") {
    return fail("unverified", `the reload was sent and the main process is unchanged (${health}), but nothing shows the service loaded the new config: declare generation evidence (workers, http, log or journal) to prove it`);
  }
  return { outcome: "reloaded", ok: true, reason: `new generation (${f.generation.source}) observed, main process unchanged, ${health}` };
}

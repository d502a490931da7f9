// Reload results for humans and for scripts (--json, outcome as a lowercase word).
import { outcomeToWord } from "../../common/outcome-words.js";
import type { ProcessIdentity, ReloadResponse } from "../../proto/gen/fleet/agent/v1/agent.js";

export function reloadToJson(r: ReloadResponse): Record<string, unknown> {
  return { ...r, outcome: outcomeToWord(r.outcome) };
}

const ident = (p: ProcessIdentity | undefined) => (p ? `pid ${p.pid} (start ${p.startTime}${p.invocationId ? `, invocation ${p.invocationId.slice(0, 8)}` : ""})` : "-");

export function formatReload(r: ReloadResponse): string {
  const e = r.evidence;
  const lines = [`${r.hostname || "agent"} ${r.service}: ${outcomeToWord(r.outcome)}${r.replayed ? " (replayed: first result of this request id)" : ""}`, `  ${r.reason}`];
  if (e) {
    if (e.action) lines.push(`  action:     ${e.action}${e.signalled ? "" : " (not sent)"}`);
    if (e.check?.ran) lines.push(`  check:      ${e.check.ok ? "passed" : e.check.timedOut ? "TIMED OUT" : `FAILED (exit ${e.check.exitCode})`} in ${e.check.durationMs}ms${e.check.output ? `: ${e.check.output.split("\n").slice(0, 4).join(" | ")}` : ""}`);
    lines.push(`  main:       ${ident(e.mainBefore)} -> ${ident(e.mainAfter)}`);
    if (e.workersBefore.length || e.workersAfter.length) lines.push(`  workers:    [${e.workersBefore.join(",")}] -> [${e.workersAfter.join(",")}]`);
    if (e.generation) lines.push(`  generation: ${e.generation.source}${e.generation.source !== "none" ? (e.generation.observed ? " observed" : " NOT observed") : ""} — ${e.generation.note}`);
    if (e.rejectMarker) lines.push(`  log:        ${e.rejectMarker.trim()}`);
    if (e.probes) lines.push(`  probes:     ${e.probes.sent} sent, ${e.probes.failed} failed, ${e.probes.refused} refused${e.probes.firstFailure ? ` (first: ${e.probes.firstFailure})` : ""}`);
    if (e.durations) lines.push(`  timings:    check ${e.durations.checkMs}ms, send ${e.durations.signalMs}ms, generation ${e.durations.generationMs}ms, healthy ${e.durations.healthyMs}ms, total ${e.durations.totalMs}ms`);
  }
  return lines.join("\n");
}

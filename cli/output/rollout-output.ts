// `fleet history` and `fleet show` for people: aligned columns, times in UTC.
import { formatDuration } from "../../common/duration.js";
import type { RolloutSummary, ShowResponse } from "../../proto/gen/fleet/controller/v1/controller.js";
import { formatColumns } from "./columns.js";
import { printable } from "./printable.js";

/** `waiting_for_approval` as people read it. */
export const stateWords = (state: string) => state.replaceAll("_", " ");

const time = (ms: number | string) => new Date(Number(ms)).toISOString().slice(0, 19).replace("T", " ");

export function formatHistory(rollouts: RolloutSummary[]): string[] {
  return formatColumns([
    ["ID", "STATE", "GROUP", "KIND", "HOSTS", "OK/FAIL/SKIP", "UNVERIFIED", "STARTED (UTC)", "BY", "REASON"],
    ...rollouts.map((x) => [String(x.id), stateWords(x.state), x.group, x.kind, String(x.hostsTotal), `${x.hostsOk}/${x.hostsFailed}/${x.hostsSkipped}`, String(x.hostsUnverified || "-"), time(x.createdAtMs), x.requestedBy, x.reason]),
  ]);
}

export function formatShow(r: ShowResponse): string[] {
  const x = r.rollout!;
  const lines = [`rollout ${x.id}: ${x.kind} ${x.group} (${x.service}) — ${stateWords(x.state)}${Number(x.parentId) ? ` (restores rollout ${x.parentId})` : ""}${x.schedule ? ` [schedule ${x.schedule}]` : ""}`];
  if (x.configPath) lines.push(`  config ${x.configPath}${x.configSha256 ? ` sha256 ${x.configSha256.slice(0, 12)}` : ""}`);
  lines.push(`  by ${x.requestedBy} from ${x.requestedFrom}${x.reason ? `, reason: ${x.reason}` : ""}`);
  lines.push(`  started ${time(x.createdAtMs)} UTC${Number(x.finishedAtMs) ? `, took ${formatDuration(Number(x.finishedAtMs) - Number(x.createdAtMs))}` : ""}`);
  if (x.summary) lines.push(`  ${x.summary}`);
  if (x.preflight?.ran && !x.preflight.refused) lines.push(`  preflight ${x.preflight.tolerated ? "tolerated" : "passed"}: ${x.preflight.summary}`);
  const rows = r.steps.map((s) => [
    `batch ${s.batch}${s.canary ? " canary" : ""}`,
    s.host,
    s.outcome || s.status,
    s.finishedAtMs && s.startedAtMs ? formatDuration(Number(s.finishedAtMs) - Number(s.startedAtMs)) : "",
    s.newSha256 ? `${s.previousSha256.slice(0, 12) || "(none)"} -> ${s.newSha256.slice(0, 12)}` : "",
    s.evidence,
    `probes ${s.probesSent}/${s.probesFailed}/${s.probesRefused}`,
    s.reason && (!s.ok || s.outcome === "unverified") ? printable(s.reason) : "",
  ]);
  if (rows.length) lines.push(...formatColumns([["BATCH", "HOST", "OUTCOME", "TOOK", "CONFIG", "EVIDENCE", "PROBES s/f/r", "REASON"], ...rows]).map((l) => `  ${l}`));
  if (r.webhookDeliveries?.length) lines.push("  webhooks:");
  for (const d of r.webhookDeliveries ?? []) {
    const answer = d.httpStatus ? ` HTTP ${d.httpStatus}` : "";
    lines.push(`    ${new Date(Number(d.atMs)).toISOString()} ${d.endpoint} ${d.event} attempt ${d.attempt}: ${d.result}${answer}${d.error && !answer ? ` (${d.error})` : ""} ${d.durationMs}ms  delivery ${d.deliveryId}`);
  }
  return lines;
}

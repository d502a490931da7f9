// Controller domain records -> protobuf messages.
import type { RolloutEvent as EventMsg, Preflight, RolloutSummary, Step, WebhookDelivery } from "../../proto/gen/fleet/controller/v1/controller.js";
import type { PreflightReport } from "../rollout/preflight.js";
import type { DeliveryAttempt } from "../webhooks/delivery-log.js";
import type { EventRecord, RolloutRecord, StepRecord } from "../history/history-store.js";
import type { RolloutEvent } from "../rollout/rollout-executor.js";
import { evidenceStrength } from "./evidence-strength.js";

export function rolloutToProto(r: RolloutRecord): RolloutSummary {
  return {
    id: r.id,
    kind: r.kind,
    group: r.group,
    service: r.service,
    state: r.waitingForApproval ? "waiting_for_approval" : r.state,
    reason: r.reason,
    requestedBy: r.requestedBy,
    requestedFrom: r.requestedFrom,
    policy: r.policy,
    createdAtMs: r.createdAt,
    finishedAtMs: r.finishedAt ?? 0,
    summary: r.summary,
    hostsTotal: r.hostsTotal,
    hostsOk: r.hostsOk,
    hostsFailed: r.hostsFailed,
    hostsSkipped: r.hostsSkipped,
    hostsUnverified: r.hostsUnverified,
    parentId: r.parentId ?? 0,
    configPath: r.configPath,
    configSha256: r.configSha256,
    schedule: r.schedule,
    preflight: preflightToProto(r.preflight),
  };
}

/** The stored report (JSON) as the CLI reads it; absent before a preflight ran. */
export function preflightToProto(json: string): Preflight | undefined {
  if (!json) return undefined;
  try {
    const r = JSON.parse(json) as PreflightReport;
    const failed = r.failed.map((f) => ({ host: f.name ?? f.host, outcome: f.outcome, problem: f.problem }));
    return { ran: true, hostsChecked: r.hostsChecked, failed, refused: r.refused, tolerated: r.tolerated, summary: r.summary };
  } catch {
    return undefined;
  }
}

/** A preflight's report as events: one per failed host, then the verdict. */
export function preflightEvents(rolloutId: number, r: PreflightReport): EventMsg[] {
  const at = Date.now();
  const event = (e: Pick<EventMsg, "kind" | "host" | "address" | "outcome" | "ok" | "message">): EventMsg => ({ rolloutId, batch: -1, canary: false, atMs: at, plan: undefined, rollout: undefined, ...e });
  return [
    ...r.failed.map((f) => event({ kind: "preflight_failed", host: f.name ?? f.host, address: f.host, outcome: f.outcome, ok: false, message: f.problem })),
    event({ kind: "preflight", host: "", address: "", outcome: r.refused ? "refused" : r.tolerated ? "tolerated" : "passed", ok: !r.refused, message: r.summary }),
  ];
}

export function stepToProto(s: StepRecord): Step {
  return {
    host: s.hostName || s.host,
    address: s.host,
    files: s.files.map((f) => ({ path: f.path, targetSha256: f.target, previousSha256: f.previous ?? "", newSha256: f.new ?? "" })),
    diff: s.diff,
    batch: s.batch,
    canary: s.canary,
    status: s.status,
    outcome: s.outcome,
    ok: s.ok,
    reason: s.reason,
    probesSent: s.probesSent,
    probesFailed: s.probesFailed,
    probesRefused: s.probesRefused,
    startedAtMs: s.startedAt ?? 0,
    finishedAtMs: s.finishedAt ?? 0,
    evidenceJson: s.evidence,
    previousSha256: s.previousSha256,
    newSha256: s.newSha256,
    evidence: evidenceStrength(s.evidence),
  };
}

export function eventToProto(e: RolloutEvent): EventMsg {
  return {
    rolloutId: e.rolloutId,
    kind: e.kind,
    host: e.hostName || e.host,
    address: e.host,
    batch: e.batch,
    canary: e.canary,
    outcome: e.outcome,
    ok: e.ok,
    message: e.message,
    atMs: e.at,
    plan: undefined,
    rollout: e.rollout ? rolloutToProto(e.rollout) : undefined,
  };
}

export function storedEventToProto(e: EventRecord): EventMsg {
  return { rolloutId: e.rolloutId, kind: e.kind, host: e.host, address: "", batch: -1, canary: false, outcome: "", ok: true, message: e.message, atMs: e.at, plan: undefined, rollout: undefined };
}

export function deliveryToProto(d: DeliveryAttempt): WebhookDelivery {
  return { deliveryId: d.deliveryId, endpoint: d.endpoint, event: d.event, attempt: d.attempt, atMs: d.at, result: d.result, httpStatus: d.httpStatus, error: d.error, durationMs: d.durationMs };
}

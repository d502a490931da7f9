// Pure: which webhook event a controller event is, the JSON or Slack body for
// it, and its signature. Every rollout end is exactly one event (finished,
// halted, failed, aborted or interrupted), so a halted rollout is announced
// once, not also as failed.
import { createHmac } from "node:crypto";
import type { RolloutRecord, ScheduleRun } from "../history/history-store.js";
import type { RolloutEvent } from "../rollout/rollout-executor.js";
import type { WebhookEvent } from "./webhook-config.js";

export interface Notice {
  event: WebhookEvent;
  group: string;
  rolloutId: number | null;
  schedule: string;
  occurredAt: number;
  message: string;
  rollout?: RolloutRecord;
  scheduleRun?: ScheduleRun;
}

/** The notices one rollout event gives; `halted` says whether the run halted before this event. */
export function noticesForRolloutEvent(e: RolloutEvent, rollout: RolloutRecord, halted: boolean): Notice[] {
  const base = { group: rollout.group, rolloutId: rollout.id, schedule: rollout.schedule, occurredAt: e.at, message: e.message };
  if (e.kind === "started") return [{ ...base, event: "started", rollout }];
  if ((e.kind as string) === "waiting_for_approval") return [{ ...base, event: "waiting_for_approval", rollout }];
  if (e.kind !== "finished") return [];
  const final = e.rollout ?? rollout;
  const event: WebhookEvent =
    final.state === "succeeded" ? "finished" : final.state === "failed" ? (halted ? "halted" : "failed") : final.state === "aborted" ? "aborted" : "interrupted";
  const notices: Notice[] = [{ ...base, event, rollout: final, message: final.summary || e.message }];
  if (rollout.schedule && final.state !== "succeeded") notices.push({ ...base, event: "schedule_failed", rollout: final, message: `schedule ${rollout.schedule}: rollout ${rollout.id} ${final.state}: ${final.summary}` });
  return notices;
}

export function noticeForScheduleRun(run: ScheduleRun, group: string): Notice | undefined {
  if (run.outcome !== "skipped") return undefined;
  return { event: "schedule_skipped", group, rolloutId: run.rolloutId, schedule: run.name, occurredAt: run.at, message: `schedule ${run.name} skipped: ${run.reason}`, scheduleRun: run };
}

export function jsonBody(n: Notice, deliveryId: string): string {
  const r = n.rollout;
  return JSON.stringify({
    delivery_id: deliveryId,
    event: n.event,
    occurred_at: new Date(n.occurredAt).toISOString(),
    group: n.group,
    message: n.message,
    rollout: r
      ? {
          id: r.id,
          kind: r.kind,
          group: r.group,
          service: r.service,
          state: r.state,
          reason: r.reason,
          requested_by: r.requestedBy,
          schedule: r.schedule || undefined,
          summary: r.summary,
          hosts: { total: r.hostsTotal, ok: r.hostsOk, failed: r.hostsFailed, skipped: r.hostsSkipped },
        }
      : undefined,
    schedule: n.scheduleRun ? { name: n.scheduleRun.name, outcome: n.scheduleRun.outcome, reason: n.scheduleRun.reason } : n.schedule ? { name: n.schedule } : undefined,
  });
}

const WORDS: Record<WebhookEvent, string> = {
  started: "started",
  waiting_for_approval: "is waiting for approval",
  halted: "HALTED",
  finished: "finished",
  failed: "FAILED",
  aborted: "was aborted",
  interrupted: "was interrupted",
  schedule_skipped: "skipped",
  schedule_failed: "FAILED",
};

/** A Slack incoming-webhook body: one `text` line. */
export function slackBody(n: Notice): string {
  const r = n.rollout;
  const what = r ? `rollout ${r.id} (${r.kind} of ${r.service} on ${r.group}${r.schedule ? `, schedule ${r.schedule}` : ""})` : `schedule ${n.schedule}`;
  const counts = r && n.event !== "started" ? ` — ${r.hostsOk} ok, ${r.hostsFailed} failed, ${r.hostsSkipped} skipped of ${r.hostsTotal}` : "";
  return JSON.stringify({ text: slackEscape(`fleet: ${what} ${WORDS[n.event]}: ${n.message}${counts}`) });
}

/** Slack reads `<...>` as mentions and links (`<!channel>`, `<url|text>`): text from agents must stay text. */
function slackEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/**
 * `sha256=HEX`, HMAC-SHA256 of `TIMESTAMP.BODY` (the X-Fleet-Timestamp value, a dot, the exact body
 * bytes): the timestamp is signed too, so a captured delivery cannot be replayed as a fresh one.
 */
export function signBody(secret: Buffer, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** Wait before attempt `attempt` (2, 3, ...): 1s, 2s, 4s ... capped at 60s. */
export function backoffMs(attempt: number, baseMs = 1000): number {
  return Math.min(60_000, baseMs * 2 ** Math.max(0, attempt - 2));
}

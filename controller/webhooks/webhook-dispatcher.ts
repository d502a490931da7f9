// Delivers webhook notices without ever holding up a rollout: observers only
// enqueue; each endpoint's queue drains asynchronously, in order, one delivery
// at a time, retrying with backoff until the endpoint's deadline. Queues are
// bounded (the oldest notice is dropped, and recorded as dropped). Every
// attempt is recorded in the history database.
import { randomUUID } from "node:crypto";
import type { Logger } from "../../common/logger.js";
import type { RolloutRecord, ScheduleRun } from "../history/history-store.js";
import type { ControllerObserver } from "../observability/controller-events.js";
import type { RolloutEvent } from "../rollout/rollout-executor.js";
import type { WebhookEndpoint } from "./webhook-config.js";
import type { AttemptResult, DeliveryAttempt, DeliveryLog } from "./delivery-log.js";
import { backoffMs, jsonBody, noticeForScheduleRun, noticesForRolloutEvent, signBody, slackBody, type Notice } from "./webhook-message.js";
import { postJson, type PostJson } from "./post-json.js";
import { abortableSleep } from "../../common/abortable-sleep.js";

export interface DispatcherDeps {
  log: DeliveryLog;
  logger: Logger;
  post?: PostJson;
  /** Called for every recorded attempt (metrics). */
  onAttempt?: (endpoint: string, result: AttemptResult) => void;
  backoffBaseMs?: number;
  maxQueue?: number;
  now?: () => number;
}

interface Pending {
  id: string;
  endpoint: WebhookEndpoint;
  notice: Notice;
  deadline: number;
}

export class WebhookDispatcher implements ControllerObserver {
  private endpoints: WebhookEndpoint[] = [];
  private scheduleGroups = new Map<string, string>();
  private readonly queues = new Map<string, Pending[]>();
  private readonly draining = new Map<string, Promise<void>>();
  private readonly haltedRuns = new Set<number>();
  private readonly stopping = new AbortController();
  private readonly now: () => number;
  private readonly post: PostJson;

  constructor(private readonly deps: DispatcherDeps) {
    this.now = deps.now ?? Date.now;
    this.post = deps.post ?? postJson;
  }

  /** The endpoints and schedules of the current inventory; notices already queued keep their endpoint. */
  configure(endpoints: WebhookEndpoint[], schedules: { name: string; group: string }[]): void {
    this.endpoints = endpoints;
    this.scheduleGroups = new Map(schedules.map((s) => [s.name, s.group]));
  }

  rolloutEvent(e: RolloutEvent, rollout: RolloutRecord): void {
    if (e.kind === "halted") this.haltedRuns.add(e.rolloutId);
    const notices = noticesForRolloutEvent(e, rollout, this.haltedRuns.has(e.rolloutId));
    if (e.kind === "finished" || e.kind === "started") this.haltedRuns.delete(e.rolloutId);
    for (const n of notices) this.enqueue(n);
  }

  scheduleRun(run: ScheduleRun): void {
    const n = noticeForScheduleRun(run, this.scheduleGroups.get(run.name) ?? "");
    if (n) this.enqueue(n);
  }

  private enqueue(notice: Notice): void {
    if (this.stopping.signal.aborted) return;
    for (const endpoint of this.endpoints) {
      if (!endpoint.events.includes(notice.event)) continue;
      if (endpoint.groups.length && !endpoint.groups.includes(notice.group)) continue;
      const queue = this.queues.get(endpoint.name) ?? [];
      this.queues.set(endpoint.name, queue);
      queue.push({ id: randomUUID(), endpoint, notice, deadline: this.now() + endpoint.deadlineMs });
      if (queue.length > (this.deps.maxQueue ?? 1000)) {
        const dropped = queue.shift()!;
        setImmediate(() => this.record(dropped, 0, "dropped", 0, "queue full: more notices waiting for this endpoint than it takes", 0));
      }
      if (!this.draining.has(endpoint.name)) {
        const run = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain(endpoint.name)).finally(() => this.draining.delete(endpoint.name));
        this.draining.set(endpoint.name, run);
      }
    }
  }

  private async drain(name: string): Promise<void> {
    const queue = this.queues.get(name)!;
    for (let p = queue.shift(); p; p = queue.shift()) {
      try {
        await this.deliver(p);
      } catch (err) {
        this.deps.logger.error("webhook delivery failed internally", { endpoint: name, error: err });
      }
      if (this.stopping.signal.aborted) break;
    }
    for (const left of queue.splice(0)) this.record(left, 0, "dropped", 0, "controller stopped before this notice was sent", 0);
  }

  private async deliver(p: Pending): Promise<void> {
    const { endpoint } = p;
    const body = endpoint.format === "slack" ? slackBody(p.notice) : jsonBody(p.notice, p.id);
    for (let attempt = 1; ; attempt++) {
      const started = this.now();
      if (started >= p.deadline) {
        // Waited in the queue past its deadline (an earlier notice was being retried): not sent late.
        this.record(p, attempt, "gave_up", 0, "its deadline passed while it waited behind earlier deliveries; not sent", 0);
        this.deps.logger.warn("webhook delivery given up", { endpoint: endpoint.name, event: p.notice.event, rollout: p.notice.rolloutId, attempts: attempt - 1, error: "deadline passed in the queue" });
        return;
      }
      const timestamp = String(Math.floor(started / 1000));
      const headers: Record<string, string> = {
        "user-agent": "fleet-controller",
        "x-fleet-event": p.notice.event,
        "x-fleet-delivery": p.id,
        "x-fleet-timestamp": timestamp,
      };
      if (endpoint.secret) headers["x-fleet-signature-256"] = signBody(endpoint.secret, timestamp, body);
      const timeout = Math.min(endpoint.timeoutMs, p.deadline - started);
      const res = await this.post(endpoint.url, body, headers, timeout, this.stopping.signal);
      const took = this.now() - started;
      const ok = "status" in res && res.status >= 200 && res.status < 300;
      const error = "error" in res ? res.error : ok ? "" : `HTTP ${res.status}`;
      const wait = backoffMs(attempt + 1, this.deps.backoffBaseMs);
      const last = !ok && (this.now() + wait >= p.deadline || this.stopping.signal.aborted);
      this.record(p, attempt, ok ? "delivered" : last ? "gave_up" : "failed", "status" in res ? res.status : 0, error, took);
      if (ok || last) {
        if (last) this.deps.logger.warn("webhook delivery given up", { endpoint: endpoint.name, event: p.notice.event, rollout: p.notice.rolloutId, attempts: attempt, error });
        return;
      }
      await abortableSleep(wait, this.stopping.signal);
    }
  }

  private record(p: Pending, attempt: number, result: AttemptResult, httpStatus: number, error: string, durationMs: number): void {
    const a: DeliveryAttempt = {
      deliveryId: p.id,
      rolloutId: p.notice.rolloutId,
      schedule: p.notice.schedule,
      endpoint: p.endpoint.name,
      event: p.notice.event,
      attempt,
      at: this.now(),
      result,
      httpStatus,
      error,
      durationMs,
    };
    try {
      this.deps.log.record(a);
    } catch (err) {
      this.deps.logger.error("cannot record a webhook delivery attempt", { error: err, endpoint: a.endpoint, result });
    }
    this.deps.onAttempt?.(a.endpoint, result);
  }

  /** Waits up to `graceMs` for queued notices (a shutdown's own `interrupted` ones too), then cancels the rest. */
  async stop(graceMs: number): Promise<void> {
    const all = Promise.allSettled([...this.draining.values()]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.stopping.abort();
    await Promise.allSettled([...this.draining.values()]);
  }
}

// Server-rendered pages of the read-only web view. Pure: records in, HTML out.
import type { EventRecord, RolloutRecord, StepRecord } from "../history/history-store.js";
import type { DeliveryAttempt } from "../webhooks/delivery-log.js";
import { html, type SafeHtml } from "./html.js";

export interface RolloutDetail {
  rollout: RolloutRecord;
  steps: StepRecord[];
}

export interface HistoryFilter {
  group: string;
  state: string;
  kind: string;
  limit: number;
}

const STATES = ["running", "succeeded", "failed", "aborted", "interrupted"];
const KINDS = ["reload", "config", "rollback"];

const time = (ms: number | null) => (ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "");
const took = (from: number | null, to: number | null) => (from && to ? `${((to - from) / 1000).toFixed(1)}s` : "");
const stateClass = (state: string) => (state === "running" || state === "pending" ? "running" : state === "succeeded" ? "ok" : "bad");
const stepClass = (s: StepRecord) => (s.status === "done" ? (s.ok ? "ok" : "bad") : s.status === "running" ? "running" : "muted");

function page(title: string, body: SafeHtml, stream?: { url: string; refresh: string }): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="stylesheet" href="/static/style.css"></head>
<body${stream ? html` data-stream="${stream.url}" data-refresh="${stream.refresh}"` : ""}>
<nav><a href="/">fleet</a>${stream ? html` · <span id="live" class="live muted">connecting</span>` : ""}</nav>
${body}
<script src="/static/app.js"></script>
</body></html>`.text;
}

export function stepsTable(rolloutId: number, steps: StepRecord[], withEvidence: boolean): SafeHtml {
  return html`<table class="steps"><thead><tr><th>batch</th><th>host</th><th>status</th><th>probes sent/failed/refused</th><th>started</th><th>took</th>${withEvidence ? html`<th>config</th>` : ""}<th>reason</th></tr></thead><tbody>
${steps.map(
  (s) => html`<tr data-rollout="${rolloutId}" data-host="${s.host}"><td>${s.batch}${s.canary ? " canary" : ""}</td><td>${s.hostName || s.host}</td><td class="status ${stepClass(s)}">${s.outcome || s.status}</td>
<td>${s.probesSent}/${s.probesFailed}/${s.probesRefused}</td><td>${time(s.startedAt)}</td><td>${took(s.startedAt, s.finishedAt)}</td>${withEvidence ? html`<td>${s.newSha256 ? `${s.previousSha256.slice(0, 12) || "(none)"} → ${s.newSha256.slice(0, 12)}` : ""}</td>` : ""}
<td class="reason">${s.ok ? "" : s.reason}${withEvidence && s.evidence ? evidenceBlock(s) : ""}</td></tr>\n`,
)}</tbody></table>`;
}

/** The evidence lines an operator looks for first, then the whole record. */
function evidenceBlock(s: StepRecord): SafeHtml {
  let ev: Record<string, any>;
  try {
    ev = JSON.parse(s.evidence) as Record<string, any>;
  } catch {
    return html`<pre>${s.evidence}</pre>`;
  }
  const reload = ev.reload ?? ev;
  const check = ev.check ?? reload.check;
  const keys: string[] = [];
  if (ev.change) keys.push(`config change: ${String(ev.change).replace(/^CONFIG_CHANGE_/, "").toLowerCase()}`);
  if (check?.ran) keys.push(`check ${check.ok ? "passed" : `failed (exit ${check.exitCode})`}${check.output ? `: ${String(check.output).trim()}` : ""}`);
  if (reload.rejectMarker) keys.push(`rejection marker: ${reload.rejectMarker}`);
  if (reload.generation?.note) keys.push(`generation: ${reload.generation.note}`);
  if (reload.probes?.firstFailure) keys.push(`first probe failure: ${reload.probes.firstFailure}`);
  if (reload.replayed) keys.push("replayed: the agent had already done this request");
  return html`<div class="evidence">${keys.map((k) => html`<div class="key">${k}</div>`)}<details${s.ok ? "" : html` open`}><summary>evidence</summary><pre>${JSON.stringify(ev, null, 2)}</pre></details></div>`;
}

export function runningPart(running: RolloutDetail[]): SafeHtml {
  if (running.length === 0) return html`<p class="muted">No rollout is running.</p>`;
  return html`${running.map(
    ({ rollout: r, steps }) => html`<section class="rollout"><h3><a href="/rollouts/${r.id}">rollout ${r.id}</a> ${r.kind} ${r.group} (${r.service}) —
<span data-rollout-state="${r.id}" class="${stateClass(r.state)}">${r.state}</span> <span class="muted">by ${r.requestedBy}${r.reason ? `: ${r.reason}` : ""}</span></h3>
${stepsTable(r.id, steps, false)}</section>`,
  )}`;
}

export function listPage(running: RolloutDetail[], history: RolloutRecord[], filter: HistoryFilter, groups: string[], olderThan: number | undefined): string {
  const option = (value: string, current: string) => html`<option value="${value}"${value === current ? html` selected` : ""}>${value || "any"}</option>`;
  const query = (before: number) => new URLSearchParams({ ...(filter.group && { group: filter.group }), ...(filter.state && { state: filter.state }), ...(filter.kind && { kind: filter.kind }), limit: String(filter.limit), before: String(before) });
  return page(
    "fleet",
    html`<h1>Running rollouts</h1><div id="live-part">${runningPart(running)}</div>
<h1>History</h1>
<form class="filters" method="get" action="/">
<label>group <select name="group">${["", ...groups].map((g) => option(g, filter.group))}</select></label>
<label>state <select name="state">${["", ...STATES].map((s) => option(s, filter.state))}</select></label>
<label>kind <select name="kind">${["", ...KINDS].map((k) => option(k, filter.kind))}</select></label>
<label>rows <input name="limit" type="number" min="1" max="500" value="${filter.limit}"></label> <button>filter</button></form>
<table id="history"><thead><tr><th>id</th><th>state</th><th>kind</th><th>group</th><th>hosts ok/failed/skipped</th><th>started</th><th>took</th><th>by</th><th>reason / summary</th></tr></thead><tbody>
${history.map(
  (r) => html`<tr><td><a href="/rollouts/${r.id}">${r.id}</a></td><td data-rollout-state="${r.id}" class="${stateClass(r.state)}">${r.state}</td><td>${r.kind}${r.schedule ? ` (${r.schedule})` : ""}</td><td>${r.group}</td>
<td>${r.hostsTotal}: ${r.hostsOk}/${r.hostsFailed}/${r.hostsSkipped}</td><td>${time(r.createdAt)}</td><td>${took(r.createdAt, r.finishedAt)}</td><td>${r.requestedBy}</td><td>${r.reason}<div class="muted">${r.summary}</div></td></tr>\n`,
)}</tbody></table>
${olderThan ? html`<a href="/?${query(olderThan).toString()}">older</a>` : ""}`,
    { url: "/events", refresh: "/fragments/running" },
  );
}

export interface RolloutPageData extends RolloutDetail {
  events: EventRecord[];
  linked: RolloutDetail[];
  deliveries: DeliveryAttempt[];
  running: boolean;
}

export function rolloutPage(d: RolloutPageData): string {
  const r = d.rollout;
  let settings: Record<string, unknown> = {};
  try {
    settings = JSON.parse(r.policy) as Record<string, unknown>;
  } catch {
    // An older record: the policy text is shown as stored.
  }
  const batches = [...new Set(d.steps.map((s) => s.batch))].sort((a, b) => a - b);
  return page(
    `rollout ${r.id}`,
    html`<h1>rollout ${r.id}: ${r.kind} ${r.group} (${r.service}) — <span data-rollout-state="${r.id}" class="${stateClass(r.state)}">${r.state}</span></h1>
<table class="summary">
<tr><th>requested by</th><td>${r.requestedBy} from ${r.requestedFrom}</td></tr>
<tr><th>reason</th><td>${r.reason}</td></tr>
${r.schedule ? html`<tr><th>schedule</th><td>${r.schedule}</td></tr>` : ""}
${r.parentId ? html`<tr><th>restores</th><td><a href="/rollouts/${r.parentId}">rollout ${r.parentId}</a></td></tr>` : ""}
${r.configPath ? html`<tr><th>config</th><td>${r.configPath} ${r.configSha256 ? `sha256 ${r.configSha256.slice(0, 12)}` : ""}</td></tr>` : ""}
<tr><th>policy</th><td>${typeof settings.policyText === "string" ? settings.policyText : r.policy}</td></tr>
<tr><th>started</th><td>${time(r.createdAt)}</td></tr>
<tr><th>finished</th><td>${time(r.finishedAt)} ${took(r.createdAt, r.finishedAt)}</td></tr>
<tr><th>outcome</th><td>${r.summary} (${r.hostsOk} ok, ${r.hostsFailed} failed, ${r.hostsSkipped} skipped of ${r.hostsTotal})</td></tr>
</table>
<h2>Plan</h2><ol start="0" class="plan">${batches.map((b) => {
      const hosts = d.steps.filter((s) => s.batch === b);
      return html`<li>${hosts.some((s) => s.canary) ? "canary: " : ""}${hosts.map((s) => s.hostName || s.host).join(", ")}</li>`;
    })}</ol>
<h2>Hosts</h2><div id="live-part">${stepsTable(r.id, d.steps, true)}</div>
${d.linked.map((l) => html`<h2>Linked <a href="/rollouts/${l.rollout.id}">rollout ${l.rollout.id}</a> (${l.rollout.kind}): ${l.rollout.state}</h2>${stepsTable(l.rollout.id, l.steps, true)}`)}
${d.deliveries.length ? deliveriesTable(d.deliveries) : ""}
<h2>Events</h2><ul id="event-log" data-rollout="${r.id}">${d.events.map((e) => html`<li>${time(e.at)} ${e.kind}${e.host ? ` ${e.host}` : ""} ${e.message}</li>`)}</ul>`,
    d.running ? { url: `/events?rollout=${r.id}`, refresh: `/fragments/steps/${r.id}` } : undefined,
  );
}

function deliveriesTable(list: DeliveryAttempt[]): SafeHtml {
  return html`<h2>Webhook deliveries</h2><table class="deliveries"><thead><tr><th>at</th><th>endpoint</th><th>event</th><th>attempt</th><th>result</th><th>answer</th><th>took</th></tr></thead><tbody>
${list.map((a) => html`<tr><td>${time(a.at)}</td><td>${a.endpoint}</td><td>${a.event}</td><td>${a.attempt}</td><td class="${a.result === "delivered" ? "ok" : "bad"}">${a.result}</td><td>${a.httpStatus ? `HTTP ${a.httpStatus}` : a.error}</td><td>${a.durationMs}ms</td></tr>\n`)}</tbody></table>`;
}

export function notFoundPage(what: string): string {
  return page("not found", html`<h1>Not found</h1><p>${what}</p>`);
}

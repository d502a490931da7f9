// The read-only web view: GET only, no inline script; loopback only (checked at
// parse time for the listen address, and by the shared listener for the Host
// header, which keeps a DNS rebinding page from reading it through a browser),
// or HTTPS with client certificates (web.tls) that the shared listener checks.
import type { IncomingMessage, ServerResponse } from "node:http";
import { clientName, startHttpListener, type BoundHttp, type ClientCertAccess, type HttpConnectionLimits } from "../../common/http-listener.js";
import type { Logger } from "../../common/logger.js";
import type { HistoryStore, RolloutRecord } from "../history/history-store.js";
import type { DeliveryAttempt } from "../webhooks/delivery-log.js";
import { EventStreams } from "./event-stream.js";
import { listPage, notFoundPage, rolloutPage, runningPart, stepsTable, type HistoryFilter, type RolloutDetail } from "./web-pages.js";
import { APP_JS, STYLE_CSS } from "./web-assets.js";

export interface WebSources {
  history: HistoryStore;
  groups(): string[];
  deliveries(rolloutId: number): DeliveryAttempt[];
}

const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};
const MAX_SCAN = 5000;
/** A browser opens up to six connections, one of them an event stream that stays open (at most 64 streams in all). */
export const WEB_LIMITS: HttpConnectionLimits = { maxConnections: 128, maxConnectionsPerPeer: 32 };

export interface RunningWebServer extends BoundHttp {
  streams: EventStreams;
  /** Ends the event streams of certificates no longer admitted (after SIGHUP changed controller.operators), or all of them. */
  recheckAccess(all?: boolean): void;
}

export async function startWebServer(listen: string, sources: WebSources, logger: Logger, tls?: ClientCertAccess): Promise<RunningWebServer> {
  const streams = new EventStreams();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    try {
      route(req, res, sources, streams, tls && (() => tls.refuse(clientName(req)) === undefined));
    } catch (err) {
      logger.error("web view request failed", { url: req.url, error: err });
      if (!res.headersSent) send(res, 500, "text/plain", "internal error (see the controller's log)\n");
      else res.destroy();
    }
  };
  const bound = await startHttpListener({ name: "web view", listen, handler, tls, limits: WEB_LIMITS, logger });
  logger.info("web view listening", { address: `${bound.scheme}://${bound.address}/`, tls: tls ? "client certificates required" : "off (loopback only)" });
  return {
    ...bound,
    streams,
    recheckAccess: (all = false) => streams.recheck(all),
    close: async () => {
      streams.close();
      await bound.close();
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": `${type}; charset=utf-8` }).end(body);
}

function route(req: IncomingMessage, res: ServerResponse, src: WebSources, streams: EventStreams, admitted?: () => boolean): void {
  if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET, HEAD" }).end();
  const url = new URL(req.url ?? "/", "http://localhost");
  const detail = (r: RolloutRecord): RolloutDetail => ({ rollout: r, steps: src.history.getSteps(r.id) });
  const running = () => streams.running().map((id) => src.history.getRollout(id)).filter((r): r is RolloutRecord => r !== undefined).map(detail);
  const idFrom = (prefix: string) => (url.pathname.startsWith(prefix) ? positiveInt(url.pathname.slice(prefix.length)) : undefined);

  if (url.pathname === "/static/app.js") return send(res, 200, "text/javascript", APP_JS);
  if (url.pathname === "/static/style.css") return send(res, 200, "text/css", STYLE_CSS);
  if (url.pathname === "/events") {
    const id = url.searchParams.has("rollout") ? positiveInt(url.searchParams.get("rollout")!) : undefined;
    if (!streams.open(res, id, admitted)) send(res, 503, "text/plain", "too many open event streams\n");
    return;
  }
  if (url.pathname === "/fragments/running") return send(res, 200, "text/html", runningPart(running()).text);
  if (url.pathname === "/") {
    const filter = historyFilter(url.searchParams);
    const { rows, olderThan } = filteredHistory(src.history, filter, positiveInt(url.searchParams.get("before") ?? ""));
    return send(res, 200, "text/html", listPage(running(), rows, filter, src.groups(), olderThan));
  }
  const stepsId = idFrom("/fragments/steps/");
  if (stepsId !== undefined) {
    const r = src.history.getRollout(stepsId);
    return r ? send(res, 200, "text/html", stepsTable(r.id, src.history.getSteps(r.id), true).text) : send(res, 404, "text/plain", "no such rollout\n");
  }
  const id = idFrom("/rollouts/");
  const r = id === undefined ? undefined : src.history.getRollout(id);
  if (!r) return send(res, 404, "text/html", notFoundPage(id === undefined ? `nothing at ${url.pathname}` : `no rollout ${id}`));
  send(
    res,
    200,
    "text/html",
    rolloutPage({ ...detail(r), events: src.history.getEvents(r.id, 2000), linked: src.history.linkedRollouts(r.id).map(detail), deliveries: src.deliveries(r.id), running: streams.running().includes(r.id) }),
  );
}

function positiveInt(s: string): number | undefined {
  return /^\d{1,15}$/.test(s) && Number(s) > 0 ? Number(s) : undefined;
}

function historyFilter(q: URLSearchParams): HistoryFilter {
  const limit = positiveInt(q.get("limit") ?? "") ?? 50;
  return { group: q.get("group") ?? "", state: q.get("state") ?? "", kind: q.get("kind") ?? "", limit: Math.min(limit, 500) };
}

/** Pages back through the history until `limit` rows match the state/kind filter (or MAX_SCAN rows were read). */
function filteredHistory(history: HistoryStore, f: HistoryFilter, before: number | undefined): { rows: RolloutRecord[]; olderThan?: number } {
  const rows: RolloutRecord[] = [];
  let cursor = before;
  let scanned = 0;
  while (rows.length < f.limit && scanned < MAX_SCAN) {
    const page = history.listRollouts({ group: f.group || undefined, limit: 200, beforeId: cursor });
    if (page.length === 0) return { rows };
    scanned += page.length;
    for (const r of page) {
      cursor = r.id;
      if ((!f.state || r.state === f.state) && (!f.kind || r.kind === f.kind)) rows.push(r);
      if (rows.length === f.limit) break;
    }
  }
  return { rows, olderThan: cursor };
}

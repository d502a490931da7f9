// The controller's gRPC surface for the CLI. Every transport authenticates:
// the unix socket by its file mode and group (checked by the kernel at
// connect), the optional read-only socket likewise, and a TCP listen —
// loopback included — by mutual TLS with operator certificates. Each RPC then
// needs a role (operator-roles.ts). Handlers are thin; errors map in one place
// (common/grpc-status.ts); streams end with the rollout.
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import path from "node:path";
import { Server, ServerCredentials, type ServerWritableStream } from "@grpc/grpc-js";
import { invalidArgument } from "../../common/errors.js";
import { plural } from "../../common/plural.js";
import { shutdownGracefully } from "../../common/grpc-server.js";
import { toServiceError, unary } from "../../common/grpc-status.js";
import type { Logger } from "../../common/logger.js";
import {
  ControllerServiceService,
  type ControllerServiceServer,
  type ConfigRolloutRequest,
  type Plan,
  type PolicyOverrides,
  type ReloadRolloutRequest,
  type ResumeRequest,
  type ShowResponse,
  type RolloutEvent as EventMsg,
} from "../../proto/gen/fleet/controller/v1/controller.js";
import type { ControllerApi, PlannedConfig, PlannedReload, RolloutDetail } from "../controller-api.js";
import type { RolloutRecord, ScheduleRun, StepRecord } from "../history/history-store.js";
import { describeSet } from "../rollout/plan-config.js";
import type { PlannedBatch } from "../rollout/plan-rollout.js";
import type { SetFile } from "../rollout/render-config-set.js";
import type { PolicyText } from "../rollout/rollout-policy.js";
import type { ControllerSettings, TlsFiles } from "../inventory/inventory.js";
import type { RolloutEvent } from "../rollout/rollout-executor.js";
import { authorize, certificateGrant, socketGrant, type ControllerRpc, type Grant } from "./operator-roles.js";
import type { DeliveryAttempt } from "../webhooks/delivery-log.js";
import { deliveryToProto, eventToProto, preflightEvents, rolloutToProto, stepToProto, storedEventToProto } from "./to-proto.js";

export interface RunningControllerServers {
  /** Where the CLI connects with both roles (or, over TCP, what its certificate grants). */
  address: string;
  /** The read-only socket, when configured. */
  readAddress?: string;
  shutdown(graceMs: number): Promise<void>;
}

const MAX_HISTORY = 1000;

/** Starts controller.listen and, when configured, controller.read_socket. */
/** What every listener serves from. */
interface Serving {
  api: ControllerApi;
  logger: Logger;
  /** Webhook delivery attempts about a rollout, for Show. */
  deliveries: (rolloutId: number) => DeliveryAttempt[];
}

/**
 * `current` gives controller.* as the inventory says now: what is bound (listen,
 * sockets, groups, TLS) is read once here and changes on restart; the grants
 * are read on every call, so an operator removed by SIGHUP is refused at once.
 */
export async function startControllerServers(
  api: ControllerApi,
  current: () => ControllerSettings,
  listenerTls: TlsFiles | undefined,
  logger: Logger,
  deliveries: Serving["deliveries"] = () => [],
): Promise<RunningControllerServers> {
  const serving: Serving = { api, logger, deliveries };
  const settings = current();
  const servers: { server: Server; address: string }[] = [];
  try {
    if (settings.listen.startsWith("unix:")) {
      servers.push(await serveUnix(serving, settings.listen, settings.socketGroup, () => socketGrant(current(), "listen")));
    } else {
      if (!listenerTls) throw new Error(`controller.listen ${settings.listen}: a TCP listen needs TLS (controller.tls)`);
      servers.push(await serveTcp(serving, settings, current, listenerTls));
    }
    if (settings.readSocket) servers.push(await serveUnix(serving, settings.readSocket, settings.readGroup, () => socketGrant(current(), "read_socket")));
  } catch (err) {
    await Promise.all(servers.map((s) => shutdownGracefully(s.server, 0)));
    throw err;
  }
  return {
    address: servers[0]!.address,
    readAddress: settings.readSocket ? servers[1]!.address : undefined,
    shutdown: async (graceMs) => void (await Promise.all(servers.map((s) => shutdownGracefully(s.server, graceMs)))),
  };
}

type GrantOf = (call: { getAuthContext(): { sslPeerCertificate?: { subject?: { CN?: string | string[] } } } }) => Grant;

async function serveUnix(serving: Serving, listen: string, group: string | undefined, grant: () => Grant) {
  const { logger } = serving;
  const file = listen.slice(5);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  await claimSocketPath(file, listen);
  const server = await bind(serving, listen, ServerCredentials.createInsecure(), grant);
  // The kernel checks connect() against the file: root only (0600), or root and the group (0660).
  if (group) {
    const gid = groupId(group);
    if (gid === undefined) {
      await shutdownGracefully(server, 0);
      throw new Error(`no group ${group} on this host (controller.socket_group / controller.read_group)`);
    }
    chownSync(file, process.getuid?.() ?? 0, gid);
  }
  chmodSync(file, group ? 0o660 : 0o600);
  logger.info("controller listening", { address: listen, group: group ?? "(root only)" });
  return { server, address: listen };
}

async function serveTcp(serving: Serving, settings: ControllerSettings, current: () => ControllerSettings, tls: TlsFiles) {
  const { logger } = serving;
  const creds = ServerCredentials.createSsl(tls.ca.bytes, [{ cert_chain: tls.cert.bytes, private_key: tls.key.bytes }], true);
  const grant: GrantOf = (call) => {
    const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN;
    return certificateGrant(current(), Array.isArray(cn) ? cn[0] : cn);
  };
  let port = 0;
  const server = await bind(serving, settings.listen, creds, grant, (p) => (port = p));
  const address = settings.listen.replace(/:\d+$/, `:${port}`);
  logger.info("controller listening", { address, tls: "client certificates required", operators: settings.operators });
  return { server, address };
}

async function bind(serving: Serving, listen: string, creds: ServerCredentials, grant: GrantOf, onPort?: (port: number) => void): Promise<Server> {
  // No channelz (fleet serves none): a call skips its counters.
  const server = new Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024, "grpc.enable_channelz": 0 });
  server.addService(ControllerServiceService, handlers(serving, grant));
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(listen, creds, (err, p) => (err ? reject(new Error(`cannot listen on ${listen}: ${err.message}`)) : resolve(p))));
  onPort?.(port);
  return server;
}

/** The RPC handlers: each one authorizes, then asks the API. */
function handlers({ api, logger, deliveries }: Serving, grantOf: GrantOf): ControllerServiceServer {
  /**
   * Streams a rollout's events to the caller, ending with its `finished` event
   * (a rollout stopped by a failing history reports that at once, before its
   * end is recorded). The rollout goes on if the caller leaves.
   */
  const stream = <Req>(rpc: ControllerRpc, call: ServerWritableStream<Req, EventMsg>, start: (listener: (e: RolloutEvent) => void, grant: Grant) => Promise<unknown> | undefined) => {
    let open = true;
    call.on("cancelled", () => (open = false));
    const listener = (e: RolloutEvent) => {
      if (!open) return;
      call.write(eventToProto(e));
      if (e.kind === "finished") {
        open = false;
        call.end();
      }
    };
    try {
      const grant = grantOf(call);
      authorize(rpc, grant);
      const done = start(listener, grant);
      if (!done) return call.end();
      done.then(
        () => open && call.end(),
        (err) => open && call.emit("error", toServiceError(err, logger, { rpc })),
      );
    } catch (err) {
      call.emit("error", toServiceError(err, logger, { rpc, peer: call.getPeer() }));
    }
  };
  const authorized = <Req, Res>(rpc: ControllerRpc, impl: (req: Req, grant: Grant, peer: string) => Promise<Res>) =>
    unary(logger, rpc, async (req: Req, call) => {
      const grant = grantOf({ getAuthContext: () => call.auth });
      authorize(rpc, grant);
      return impl(req, grant, call.peer);
    });

  return {
    reload: (call) => stream("Reload", call, (listener, grant) => startRollout(api, call, listener, grant, undefined)),
    rollout: (call) => stream("Rollout", call, (listener, grant) => startRollout(api, call, listener, grant, configFromRequest(call.request))),
    resume: (call) => stream("Resume", call, (listener) => resumeRollout(api, call, listener)),
    watch: (call) =>
      stream("Watch", call, (listener) => {
        const id = call.request.rolloutId;
        return new Promise<void>((resolve) => {
          const w = api.watch(id, (e) => {
            listener(e);
            if (e.kind === "finished") resolve();
          });
          if ("ended" in w) {
            const r = w.ended;
            call.write({ rolloutId: id, kind: "finished", host: "", address: "", batch: -1, canary: false, outcome: r.state, ok: r.state === "succeeded", message: r.summary, atMs: Date.now(), plan: undefined, rollout: rolloutToProto(r) });
            return resolve();
          }
          // Where the rollout is now, before its next event: every batch and every host's step so far.
          const d = api.showRollout(id);
          const plan = planToProto(d.rollout.group, d.rollout.service, batchesOf(d.steps), policyOf(d.rollout), d.steps);
          call.write(planEvent(id, `following rollout ${id} (${rolloutToProto(d.rollout).state.replaceAll("_", " ")})`, plan, d.rollout));
          call.on("cancelled", () => w.unsubscribe());
        });
      }),
    abort: authorized("Abort", async (req: { rolloutId: number; caller?: { user: string; host: string } }, grant, peer) => {
      const r = api.abort(req.rolloutId, callerWords(req.caller, grant, peer));
      return { rollout: rolloutToProto(r.rollout), message: r.message };
    }),
    promote: authorized("Promote", async (req: { rolloutId: number; caller?: { user: string; host: string } }, grant, peer) => {
      const r = api.promote(req.rolloutId, callerWords(req.caller, grant, peer));
      return { rollout: rolloutToProto(r.rollout), message: r.message };
    }),
    history: authorized("History", async (req: { group: string; limit: number; beforeId: number }) => {
      if (req.limit < 0 || req.limit > MAX_HISTORY) throw invalidArgument(`limit must be 1-${MAX_HISTORY}`);
      return { rollouts: api.listRollouts({ group: req.group || undefined, limit: req.limit || 20, beforeId: req.beforeId || undefined }).map(rolloutToProto) };
    }),
    show: authorized("Show", async (req: { rolloutId: number }) => detailToProto(api.showRollout(req.rolloutId), deliveries)),
    groupStatus: authorized("GroupStatus", async (req: { group: string }) => ({ hosts: await api.groupStatus(req.group), rollouts: api.activeRollouts(req.group).map(rolloutToProto) })),
    listSchedules: authorized("ListSchedules", async () => listSchedules(api)),
    scheduleAction: authorized("ScheduleAction", async (req: { name: string; action: string; force: boolean }) => scheduleAction(api, req)),
    controllerStatus: authorized("ControllerStatus", async () => controllerStatusToProto(api)),
  };
}

/** Plans, announces the plan, and (unless a dry run) starts a reload or config rollout. */
function startRollout(
  api: ControllerApi,
  call: ServerWritableStream<ReloadRolloutRequest, EventMsg>,
  listener: (e: RolloutEvent) => void,
  grant: Grant,
  config: { files: SetFile[]; rollbackAll: boolean } | undefined,
) {
  const req = call.request;
  const args = { group: req.group, policy: policyText(req.policy), hosts: req.hosts, select: req.select, allowRestart: req.allowRestart };
  const planned = config ? api.planConfig({ ...args, ...config }) : api.plan(args);
  const plan = plannedToProto(planned, config ? `; push ${describeSet(config.files)}` : "");
  if (req.dryRun) return dryRun(api, call, planned, plan, config !== undefined);
  const full = { ...args, reason: req.reason, caller: { user: req.caller?.user ?? "", host: req.caller?.host ?? "" }, peer: call.getPeer(), identity: grant.identity, allowPreflightFailures: req.allowPreflightFailures };
  const started = config ? api.startConfigRollout({ ...full, ...config }, listener) : api.startReload(full, listener);
  call.write(planEvent(started.rollout.id, `rollout ${started.rollout.id}`, plan, started.rollout));
  return started.done;
}

/** The one-file form (path, content) or the set (files); templates are rendered by the controller per host. */
function configFromRequest(req: ConfigRolloutRequest): { files: SetFile[]; rollbackAll: boolean } {
  const files = req.files.map((f) => ({ path: f.path, content: Buffer.from(f.content), template: f.template }));
  if (req.path || req.content.length) files.unshift({ path: req.path, content: Buffer.from(req.content), template: false });
  return { files, rollbackAll: req.rollbackAll };
}

/** Shows what remains of a rollout and its preflight (dry run), or resumes it. */
function resumeRollout(api: ControllerApi, call: ServerWritableStream<ResumeRequest, EventMsg>, listener: (e: RolloutEvent) => void) {
  const req = call.request;
  const id = req.rolloutId;
  const options = { policy: policyText(req.policy), allowPreflightFailures: req.allowPreflightFailures };
  const p = api.planResume(id, options);
  const plan = planToProto(p.rollout.group, p.rollout.service, p.batches, { maxFailures: p.settings.maxFailures, text: p.settings.policyText }, p.steps);
  const what = `${p.hostsLeft} of ${plural(p.steps.length, "host")} remaining in ${plural(p.batches.length, "batch", "batches")}`;
  if (req.dryRun) {
    call.write(planEvent(id, `dry run: resume of rollout ${id}, ${what}; nothing changed`, plan, p.rollout));
    const left = p.steps.filter((s) => s.status !== "done");
    const failed = p.steps.filter((s) => s.status === "done" && !s.ok).length;
    return api.preflight(p.settings, left, failed, req.allowPreflightFailures).then((r) => preflightEvents(id, r).forEach((e) => call.write(e)));
  }
  const started = api.resume(id, listener, options);
  call.write(planEvent(id, `resuming rollout ${id}: ${what}`, plan, started.rollout));
  return started.done;
}

/** The policy overrides as the core reads them (field names of the inventory; "" = not given). */
function policyText(p: PolicyOverrides | undefined): PolicyText {
  const text = { canary: p?.canary, batch: p?.batch, max_failures: p?.maxFailures, bake: p?.bake, pause: p?.pause, accept_unverified: p?.acceptUnverified ? "true" : "", approve: p?.approve ? "true" : "" };
  return Object.fromEntries(Object.entries(text).filter(([, v]) => v)) as PolicyText;
}

function callerWords(c: { user: string; host: string } | undefined, grant: Grant, peer: string): string {
  const said = `${c?.user || "unknown"}@${c?.host || "unknown"}`;
  return `${grant.identity ? `cert:${grant.identity} (${said})` : said} (${peer})`;
}

/** The plan as the CLI shows it: hosts by name (with their addresses), every host left out with why, and (watch, resume) every host's step so far. */
function planToProto(
  group: string,
  service: string,
  batches: PlannedBatch[],
  policy: { maxFailures: number; text: string },
  steps: StepRecord[],
  name: (address: string) => string = stepNames(steps),
  excluded: string[] = [],
): Plan {
  return {
    group,
    service,
    batches: batches.map((b) => ({ index: b.index, canary: b.canary, hosts: b.hosts.map(name), addresses: b.hosts })),
    maxFailures: policy.maxFailures,
    policy: policy.text,
    excluded,
    diffs: [],
    steps: steps.map(stepToProto),
  };
}

/** A new rollout's plan: its selection's names and the hosts left out. */
function plannedToProto(planned: PlannedReload, what: string): Plan {
  const name = (a: string) => planned.names.get(a) ?? a;
  const excluded = planned.excluded.map((x) => `${x.name}: ${x.why}`);
  return planToProto(planned.group.name, planned.group.service, planned.plan.batches, { maxFailures: planned.plan.maxFailures, text: planned.settings.policyText + what }, [], name, excluded);
}

/** A recorded rollout's host names, by agent address. */
function stepNames(steps: StepRecord[]): (address: string) => string {
  const names = new Map(steps.map((s) => [s.host, s.hostName || s.host]));
  return (a) => names.get(a) ?? a;
}

/**
 * The plan and its preflight, nothing changed; a config dry run also shows what each host
 * would get (its agent diffs the set against its live files). Both are asked at once.
 */
async function dryRun(api: ControllerApi, call: ServerWritableStream<ReloadRolloutRequest, EventMsg>, planned: PlannedReload, plan: Plan, config: boolean): Promise<void> {
  const steps = planned.plan.batches.flatMap((b) => b.hosts.map((host) => ({ host, hostName: planned.names.get(host), canary: b.canary })));
  const [diffs, report] = await Promise.all([config ? api.previewConfig(planned as PlannedConfig) : [], api.preflight(planned.settings, steps, 0, call.request.allowPreflightFailures)]);
  plan.diffs = diffs;
  call.write(planEvent(0, "dry run: nothing changed", plan));
  preflightEvents(0, report).forEach((e) => call.write(e));
}

function planEvent(rolloutId: number, message: string, plan: Plan, rollout?: RolloutRecord): EventMsg {
  return { rolloutId, kind: "plan", host: "", address: "", batch: -1, canary: false, outcome: "", ok: true, message, atMs: Date.now(), plan, rollout: rollout ? rolloutToProto(rollout) : undefined };
}

/** A recorded rollout's batches, from its steps. */
function batchesOf(steps: StepRecord[]): PlannedBatch[] {
  const byIndex = new Map<number, PlannedBatch>();
  for (const s of steps) {
    const b = byIndex.get(s.batch) ?? { index: s.batch, canary: false, hosts: [] };
    b.canary ||= s.canary;
    b.hosts.push(s.host);
    byIndex.set(s.batch, b);
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

function policyOf(r: RolloutRecord): { maxFailures: number; text: string } {
  try {
    const s = JSON.parse(r.policy) as { maxFailures?: number; policyText?: string };
    return { maxFailures: s.maxFailures ?? 0, text: s.policyText ?? "" };
  } catch {
    return { maxFailures: 0, text: "" };
  }
}

function controllerStatusToProto(api: ControllerApi) {
  const s = api.controllerStatus();
  const r = s.replication;
  return {
    state: s.state,
    controllerId: s.controllerId,
    epoch: s.epoch,
    db: s.db,
    replication: r && {
      to: r.to,
      syncIntervalMs: r.syncIntervalMs,
      litestreamState: r.litestream.state,
      litestreamPid: r.litestream.pid,
      restarts: r.litestream.restarts,
      lastError: r.litestream.lastError,
      lagSeconds: r.lagSeconds,
      lastConfirmedAtMs: r.lastConfirmedAtMs,
      sampleError: r.sampleError,
    },
  };
}

function listSchedules(api: ControllerApi) {
  return {
    schedules: api.schedules.list().map((s) => ({
      name: s.name,
      cron: s.cron,
      group: s.group,
      source: s.source,
      path: s.path,
      paused: s.paused,
      running: s.running,
      nextRunMs: s.nextRun ?? 0,
      lastRun: s.lastRun ? scheduleRunToProto(s.lastRun, s.lastRun.rolloutState) : undefined,
    })),
  };
}

async function scheduleAction(api: ControllerApi, req: { name: string; action: string; force: boolean }) {
  if (req.force && req.action !== "run") throw invalidArgument("--force only applies to schedule run");
  switch (req.action) {
    case "run": {
      const run = await api.schedules.run(req.name, "manual", req.force);
      return { message: `${req.name}: ${run.outcome}: ${run.reason}`, run: scheduleRunToProto(run) };
    }
    case "pause":
      api.schedules.pause(req.name);
      return { message: `${req.name} paused (kept across controller restarts)`, run: undefined };
    case "resume":
      api.schedules.resume(req.name);
      return { message: `${req.name} resumed`, run: undefined };
    default:
      throw invalidArgument(`action must be run, pause or resume, got ${JSON.stringify(req.action)}`);
  }
}

function detailToProto(d: RolloutDetail, deliveries: Serving["deliveries"]): ShowResponse {
  return {
    rollout: rolloutToProto(d.rollout),
    steps: d.steps.map(stepToProto),
    events: d.events.map(storedEventToProto),
    linked: d.linked.map((l) => detailToProto(l, deliveries)),
    webhookDeliveries: deliveries(d.rollout.id).map(deliveryToProto),
  };
}

function scheduleRunToProto(r: ScheduleRun, rolloutState = "") {
  return { atMs: r.at, outcome: r.outcome, rolloutId: r.rolloutId ?? 0, rolloutState, reason: r.reason };
}

/**
 * Makes way for our socket at `file`: a socket another process still accepts
 * connections on (another controller) is refused and left alone; a stale one
 * that refuses connections (a controller that died) is replaced; anything
 * else at that path is not ours to delete.
 */
async function claimSocketPath(file: string, listen: string): Promise<void> {
  let st;
  try {
    st = lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!st.isSocket()) throw new Error(`cannot listen on ${listen}: ${file} exists and is not a socket; not replacing it (remove it if it is not needed)`);
  if (await acceptsConnections(file)) throw new Error(`cannot listen on ${listen}: another process (another fleet-controller?) is serving this socket; stop it first — its socket is left in place`);
  rmSync(file, { force: true });
}

/** Whether something listens on the unix socket (a connect succeeds, or hangs past a short deadline). */
function acceptsConnections(file: string, deadlineMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path: file });
    const done = (listening: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(listening);
    };
    const timer = setTimeout(() => done(true), deadlineMs);
    socket.once("connect", () => done(true));
    // ECONNREFUSED: a socket file nobody listens on. Anything else (EAGAIN: a full backlog) is someone's.
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code !== "ECONNREFUSED" && err.code !== "ENOENT"));
  });
}

function groupId(name: string): number | undefined {
  for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
    const [n, , gid] = line.split(":");
    if (n === name) return Number(gid);
  }
  return undefined;
}

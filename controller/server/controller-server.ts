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
import { shutdownGracefully } from "../../common/grpc-server.js";
import { toServiceError, unary } from "../../common/grpc-status.js";
import type { Logger } from "../../common/logger.js";
import {
  ControllerServiceService,
  type ControllerServiceServer,
  type ConfigRolloutRequest,
  type Plan,
  type ReloadRolloutRequest,
  type ShowResponse,
  type RolloutEvent as EventMsg,
} from "../../proto/gen/fleet/controller/v1/controller.js";
import type { ControllerApi, PlannedConfig, PlannedReload, RolloutDetail } from "../controller-api.js";
import { describeSet } from "../rollout/plan-config.js";
import type { SetFile } from "../rollout/render-config-set.js";
import type { ScheduleRun } from "../history/history-store.js";
import type { ControllerSettings, TlsFiles } from "../inventory/inventory.js";
import type { RolloutEvent } from "../rollout/rollout-executor.js";
import { authorize, certificateGrant, socketGrant, type ControllerRpc, type Grant } from "./operator-roles.js";
import type { DeliveryAttempt } from "../webhooks/delivery-log.js";
import { deliveryToProto, eventToProto, rolloutToProto, stepToProto, storedEventToProto } from "./to-proto.js";

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
  const server = new Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });
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
    resume: (call) => stream("Resume", call, (listener) => api.resume(call.request.rolloutId, listener).done),
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
          call.on("cancelled", () => w.unsubscribe());
        });
      }),
    abort: authorized("Abort", async (req: { rolloutId: number; caller?: { user: string; host: string } }, grant, peer) => {
      const said = `${req.caller?.user ?? "unknown"}@${req.caller?.host ?? "unknown"}`;
      const by = `${grant.identity ? `cert:${grant.identity} (${said})` : said} (${peer})`;
      const r = api.abort(req.rolloutId, by);
      return { rollout: rolloutToProto(r.rollout), message: r.message };
    }),
    history: authorized("History", async (req: { group: string; limit: number; beforeId: number }) => {
      if (req.limit < 0 || req.limit > MAX_HISTORY) throw invalidArgument(`limit must be 1-${MAX_HISTORY}`);
      return { rollouts: api.listRollouts({ group: req.group || undefined, limit: req.limit || 20, beforeId: req.beforeId || undefined }).map(rolloutToProto) };
    }),
    show: authorized("Show", async (req: { rolloutId: number }) => detailToProto(api.showRollout(req.rolloutId), deliveries)),
    groupStatus: authorized("GroupStatus", async (req: { group: string }) => ({ hosts: await api.groupStatus(req.group) })),
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
  const args = {
    group: req.group,
    policy: Object.fromEntries(
      Object.entries({ canary: req.policy?.canary, batch: req.policy?.batch, max_failures: req.policy?.maxFailures, bake: req.policy?.bake, pause: req.policy?.pause, accept_unverified: req.policy?.acceptUnverified ? "true" : "" }).filter(([, v]) => v),
    ),
    hosts: req.hosts,
    select: req.select,
    allowRestart: req.allowRestart,
  };
  const planned = config ? api.planConfig({ ...args, ...config }) : api.plan(args);
  const plan = planToProto(planned, config ? `; push ${describeSet(config.files)}` : "");
  const announce = (rolloutId: number, message: string, rollout?: Parameters<typeof rolloutToProto>[0]) =>
    call.write({ rolloutId, kind: "plan", host: "", address: "", batch: -1, canary: false, outcome: "", ok: true, message, atMs: Date.now(), plan, rollout: rollout ? rolloutToProto(rollout) : undefined });
  if (req.dryRun && config) {
    // A config dry run shows what each host would get: its agent diffs the set against its live files.
    return api.previewConfig(planned as PlannedConfig).then((diffs) => {
      plan.diffs = diffs;
      announce(0, "dry run: nothing changed");
    });
  }
  if (req.dryRun) {
    announce(0, "dry run: nothing changed");
    return undefined;
  }
  const full = { ...args, reason: req.reason, caller: { user: req.caller?.user ?? "", host: req.caller?.host ?? "" }, peer: call.getPeer(), identity: grant.identity };
  const started = config ? api.startConfigRollout({ ...full, ...config }, listener) : api.startReload(full, listener);
  announce(started.rollout.id, `rollout ${started.rollout.id}`, started.rollout);
  return started.done;
}

/** The one-file form (path, content) or the set (files); templates are rendered by the controller per host. */
function configFromRequest(req: ConfigRolloutRequest): { files: SetFile[]; rollbackAll: boolean } {
  const files = req.files.map((f) => ({ path: f.path, content: Buffer.from(f.content), template: f.template }));
  if (req.path || req.content.length) files.unshift({ path: req.path, content: Buffer.from(req.content), template: false });
  return { files, rollbackAll: req.rollbackAll };
}

/** The plan as the CLI shows it: hosts by name (with their addresses), and every host left out with why. */
function planToProto(planned: PlannedReload, what: string): Plan {
  const name = (a: string) => planned.names.get(a) ?? a;
  return {
    group: planned.group.name,
    service: planned.group.service,
    batches: planned.plan.batches.map((b) => ({ index: b.index, canary: b.canary, hosts: b.hosts.map(name), addresses: b.hosts })),
    maxFailures: planned.plan.maxFailures,
    policy: planned.settings.policyText + what,
    excluded: planned.excluded.map((x) => `${x.name}: ${x.why}`),
    diffs: [],
  };
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

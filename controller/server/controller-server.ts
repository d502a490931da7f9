// The controller's gRPC surface for the CLI. Handlers are thin; errors map in
// one place (common/grpc-status.ts); streams end with the rollout.
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { Server, ServerCredentials, type ServerWritableStream } from "@grpc/grpc-js";
import { invalidArgument } from "../../common/errors.js";
import { mutualTlsCredentials, shutdownGracefully } from "../../common/grpc-server.js";
import { toServiceError, unary } from "../../common/grpc-status.js";
import type { Logger } from "../../common/logger.js";
import {
  ControllerServiceService,
  type ControllerServiceServer,
  type ReloadRolloutRequest,
  type RolloutEvent as EventMsg,
} from "../../proto/gen/fleet/controller/v1/controller.js";
import type { ControllerCore } from "../controller-core.js";
import type { RolloutRecord, ScheduleRun } from "../history/history-store.js";
import type { RolloutEvent } from "../rollout/rollout-executor.js";
import { eventToProto, rolloutToProto, stepToProto, storedEventToProto } from "./to-proto.js";

function scheduleRunToProto(r: ScheduleRun, rolloutState = "") {
  return { atMs: r.at, outcome: r.outcome, rolloutId: r.rolloutId ?? 0, rolloutState, reason: r.reason };
}

export interface RunningControllerServer {
  address: string;
  shutdown(graceMs: number): Promise<void>;
}

const MAX_HISTORY = 1000;

export async function startControllerServer(
  core: ControllerCore,
  listen: string,
  logger: Logger,
  socketGroup?: string,
  tls?: { cert: string; key: string; ca: string },
): Promise<RunningControllerServer> {
  /** Streams a rollout's events to the caller; the rollout goes on if the caller leaves. */
  const stream = (rpc: string, call: ServerWritableStream<unknown, EventMsg>, start: (listener: (e: RolloutEvent) => void) => Promise<unknown> | undefined) => {
    let open = true;
    call.on("cancelled", () => (open = false));
    const listener = (e: RolloutEvent) => {
      if (open) call.write(eventToProto(e));
    };
    try {
      const done = start(listener);
      if (!done) return call.end();
      done.then(
        () => open && call.end(),
        (err) => open && call.emit("error", toServiceError(err, logger, { rpc })),
      );
    } catch (err) {
      call.emit("error", toServiceError(err, logger, { rpc, peer: call.getPeer() }));
    }
  };

  /** Plans, announces the plan, and (unless a dry run) starts a reload or config rollout. */
  const startRollout = (
    call: ServerWritableStream<ReloadRolloutRequest, EventMsg>,
    listener: (e: RolloutEvent) => void,
    config: { path: string; content: Buffer; rollbackAll: boolean } | undefined,
  ) => {
    const req = call.request;
    const args = {
      group: req.group,
      policy: Object.fromEntries(
        Object.entries({ canary: req.policy?.canary, batch: req.policy?.batch, max_failures: req.policy?.maxFailures, bake: req.policy?.bake, pause: req.policy?.pause, accept_unverified: req.policy?.acceptUnverified ? "true" : "" }).filter(([, v]) => v),
      ),
      hosts: req.hosts,
      allowRestart: req.allowRestart,
    };
    const planned = config ? core.planConfig({ ...args, ...config }) : core.plan(args);
    const plan = {
      group: planned.group.name,
      service: planned.group.service,
      batches: planned.plan.batches,
      maxFailures: planned.plan.maxFailures,
      policy: planned.settings.policyText + (config ? `; push ${config.path} (${config.content.length} bytes)` : ""),
    };
    const announce = (rolloutId: number, message: string, rollout?: RolloutRecord) =>
      call.write({ rolloutId, kind: "plan", host: "", batch: -1, canary: false, outcome: "", ok: true, message, atMs: Date.now(), plan, rollout: rollout ? rolloutToProto(rollout) : undefined });
    if (req.dryRun) {
      announce(0, "dry run: nothing changed");
      return undefined;
    }
    const full = { ...args, reason: req.reason, caller: { user: req.caller?.user ?? "", host: req.caller?.host ?? "" }, peer: call.getPeer() };
    const started = config ? core.startConfigRollout({ ...full, ...config }, listener) : core.startReload(full, listener);
    announce(started.rollout.id, `rollout ${started.rollout.id}`, started.rollout);
    return started.done;
  };

  const impl: ControllerServiceServer = {
    reload: (call) => stream("Reload", call, (listener) => startRollout(call, listener, undefined)),
    rollout: (call) =>
      stream("Rollout", call, (listener) =>
        startRollout(call, listener, { path: call.request.path, content: Buffer.from(call.request.content), rollbackAll: call.request.rollbackAll }),
      ),
    resume: (call) =>
      stream("Resume", call, (listener) => {
        const r = core.resume(call.request.rolloutId, listener);
        return r.done;
      }),
    watch: (call) =>
      stream("Watch", call, (listener) => {
        const id = call.request.rolloutId;
        let unsubscribe: (() => void) | undefined;
        return new Promise<void>((resolve) => {
          unsubscribe = core.watch(id, (e) => {
            listener(e);
            if (e.kind === "finished") resolve();
          });
          if (!unsubscribe) {
            // Not running: send what it ended with.
            const r = core.history.getRollout(id)!;
            call.write({ rolloutId: id, kind: "finished", host: "", batch: -1, canary: false, outcome: r.state, ok: r.state === "succeeded", message: r.summary, atMs: Date.now(), plan: undefined, rollout: rolloutToProto(r) });
            resolve();
          }
          call.on("cancelled", () => unsubscribe?.());
        });
      }),
    abort: unary(logger, "Abort", async (req: { rolloutId: number; caller?: { user: string; host: string } }, call) => {
      const by = `${req.caller?.user ?? "unknown"}@${req.caller?.host ?? "unknown"} (${call.peer})`;
      const r = core.abort(req.rolloutId, by);
      return { rollout: rolloutToProto(r), message: `abort requested for rollout ${r.id}; in-flight hosts finish, no new host starts` };
    }),
    history: unary(logger, "History", async (req: { group: string; limit: number; beforeId: number }) => {
      if (req.limit < 0 || req.limit > MAX_HISTORY) throw invalidArgument(`limit must be 1-${MAX_HISTORY}`);
      const rows = core.history.listRollouts({ group: req.group || undefined, limit: req.limit || 20, beforeId: req.beforeId || undefined });
      return { rollouts: rows.map(rolloutToProto) };
    }),
    show: unary(logger, "Show", async (req: { rolloutId: number }) => {
      const r = core.history.getRollout(req.rolloutId);
      if (!r) throw invalidArgument(`no rollout ${req.rolloutId}`);
      const detail = (x: RolloutRecord) => ({ rollout: rolloutToProto(x), steps: core.history.getSteps(x.id).map(stepToProto), events: core.history.getEvents(x.id).map(storedEventToProto) });
      return { ...detail(r), linked: core.history.linkedRollouts(r.id).map((l) => ({ ...detail(l), linked: [] })) };
    }),
    groupStatus: unary(logger, "GroupStatus", async (req: { group: string }) => ({ hosts: await core.groupStatus(req.group) })),
    listSchedules: unary(logger, "ListSchedules", async () => ({
      schedules: core.scheduler.list().map((s) => ({
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
    })),
    scheduleAction: unary(logger, "ScheduleAction", async (req: { name: string; action: string }) => {
      switch (req.action) {
        case "run": {
          const run = await core.scheduler.run(req.name, "manual");
          return { message: `${req.name}: ${run.outcome}: ${run.reason}`, run: scheduleRunToProto(run) };
        }
        case "pause":
          core.scheduler.pause(req.name);
          return { message: `${req.name} paused (kept across controller restarts)`, run: undefined };
        case "resume":
          core.scheduler.resume(req.name);
          return { message: `${req.name} resumed`, run: undefined };
        default:
          throw invalidArgument(`action must be run, pause or resume, got ${JSON.stringify(req.action)}`);
      }
    }),
  };

  const server = new Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });
  server.addService(ControllerServiceService, impl);
  if (listen.startsWith("unix:")) {
    const file = listen.slice(5);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    rmSync(file, { force: true });
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, serverCredentials(listen, tls), (err, p) => (err ? reject(new Error(`cannot listen on ${listen}: ${err.message}`)) : resolve(p))),
  );
  // Only root and the socket's group may drive the fleet: mode 0660, group from controller.socket_group.
  if (listen.startsWith("unix:")) {
    const file = listen.slice(5);
    if (socketGroup) {
      const gid = groupId(socketGroup);
      if (gid === undefined) throw new Error(`controller.socket_group: no group ${socketGroup} on this host`);
      chownSync(file, process.getuid?.() ?? 0, gid);
    }
    chmodSync(file, socketGroup ? 0o660 : 0o600);
  }
  const address = listen.startsWith("unix:") ? listen : listen.replace(/:\d+$/, `:${port}`);
  logger.info("controller listening", { address });
  return {
    address,
    shutdown: (graceMs) => shutdownGracefully(server, graceMs),
  };
}

function groupId(name: string): number | undefined {
  for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
    const [n, , gid] = line.split(":");
    if (n === name) return Number(gid);
  }
  return undefined;
}

/** TCP with tls configured requires operator certificates signed by the fleet CA. */
function serverCredentials(listen: string, tls: { cert: string; key: string; ca: string } | undefined): ServerCredentials {
  return listen.startsWith("unix:") || !tls ? ServerCredentials.createInsecure() : mutualTlsCredentials(tls);
}

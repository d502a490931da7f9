// The gRPC surface of the agent. Handlers are thin: authenticate, validate the
// request's shape, call AgentCore, map the result; errors map in one place.
// The agent owns its listening socket: every connection passes the
// ConnectionGate (limits, handshake deadline) before grpc-js sees it.
import { chmod, chown, lstat, rm } from "node:fs/promises";
import net from "node:net";
import { Server, ServerCredentials, type ServerWritableStream } from "@grpc/grpc-js";
import { FleetError, invalidArgument } from "../../common/errors.js";
import { shutdownGracefully } from "../../common/grpc-server.js";
import { unary } from "../../common/grpc-status.js";
import type { Logger } from "../../common/logger.js";
import { plural } from "../../common/plural.js";
import {
  AgentServiceService,
  type AgentServiceServer,
  type DiffConfigRequest,
  type PushConfigRequest,
  type RollbackConfigRequest,
} from "../../proto/gen/fleet/agent/v1/agent.js";
import {
  HealthCheckResponse_ServingStatus as Serving,
  HealthService,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "../../proto/gen/grpc/health/v1/health.js";
import type { AgentCore, ChangeGate } from "../agent-core.js";
import type { AgentConfig } from "../config/agent-config.js";
import type { AgentServerObserver } from "../metrics/agent-metrics.js";
import { authenticateOnHeaders } from "./authenticate-on-headers.js";
import { CONTROLLER_ID_HEADER, EPOCH_HEADER, FENCED_RPCS, formatEpoch, type ControllerEpoch } from "../../common/controller-epoch.js";
import { createAuthenticator, type Authenticate } from "./authenticator.js";
import { ConnectionGate } from "../../common/connection-gate.js";
import { EpochGuard, fencingHeaders } from "./epoch-guard.js";
import { FileEpochStore } from "./epoch-store.js";
import { RateLimiter } from "./rate-limiter.js";
import { ReadLimiter } from "./read-limiter.js";
import { ReloadableTlsCredentials } from "./reloadable-tls-credentials.js";
import { diffedFiles, pushedFiles, restoredFiles } from "./config-requests.js";
import { configChangeToProto, diffToProto, reloadToProto, statusToProto } from "./to-proto.js";

const MAX_OVERRIDE_MS = 600_000;
/** A Fence answers this long before its caller's deadline, so the answer (not a timeout) arrives. */
const FENCE_ANSWER_MARGIN_MS = 500;
/** A Fence without a deadline waits at most this long for older epochs' committed changes. */
const MAX_FENCE_WAIT_MS = 60_000;
/** Concurrent Status/Probe computations, and how many may wait for one. */
const MAX_CONCURRENT_READS = 4;
const MAX_WAITING_READS = 1024;
/** Diffs may take seconds each (whole files): their own small queue, so they never hold up Status and Probe. */
const MAX_CONCURRENT_DIFFS = 1;
const MAX_WAITING_DIFFS = 16;

/**
 * Per-connection and keepalive limits (grpc-js server options): bounded
 * streams per connection, dead peers found by pings, idle connections closed,
 * long-lived ones recycled with a grace period that covers the longest reload.
 */
export const SERVER_OPTIONS = {
  "grpc.max_concurrent_streams": 16,
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_timeout_ms": 20_000,
  "grpc.max_connection_idle_ms": 10 * 60_000,
  "grpc.max_connection_age_ms": 60 * 60_000,
  "grpc.max_connection_age_grace_ms": 15 * 60_000,
  "grpc-node.max_session_memory": 16,
  // The agent serves no channelz: without it a call skips channelz's counters and a session its trace.
  "grpc.enable_channelz": 0,
} as const;

export interface RunningAgentServer {
  /** The bound address, e.g. 127.0.0.1:41234 or unix:/run/fleet/agent.sock. */
  address: string;
  port: number;
  /** Builds everything the new config needs; the returned commit swaps it in and cannot fail. */
  prepare(config: AgentConfig): () => void;
  /** Client connections open right now. */
  connections(): Promise<number>;
  shutdown(graceMs: number): Promise<void>;
}

interface ServerState {
  authenticate: Authenticate;
  limiter: RateLimiter;
}

export async function startAgentServer(core: AgentCore, config: AgentConfig, logger: Logger, observer?: AgentServerObserver): Promise<RunningAgentServer> {
  let state: ServerState = { authenticate: createAuthenticator(config.auth), limiter: new RateLimiter(config.limits.mutationsPerSecond) };
  const epochs = new EpochGuard(new FileEpochStore(() => core.currentConfig.stateDir), logger);
  const guard = <Req, Res>(rpc: string, impl: (req: Req, fenced: { id: string; epoch: ControllerEpoch } | undefined, gate: ChangeGate, deadlineMs: number) => Promise<Res>) =>
    unary<Req, Res>(logger, rpc, async (req, call) => {
      const who = state.authenticate(call, rpc);
      gate.authenticated(call.peer);
      if (rpc !== "Describe" && rpc !== "Status" && rpc !== "Probe") {
        // Per caller identity and source address: one noisy client cannot starve the rest.
        state.limiter.take(`${who} from ${call.peer.replace(/:\d+$/, "")}`);
        logger.info("call", { rpc, peer: call.peer, caller: who });
      }
      let fenced: { id: string; epoch: ControllerEpoch } | undefined;
      const admission: ChangeGate = {};
      if ((FENCED_RPCS as readonly string[]).includes(rpc)) {
        const header = (key: string) => (call.metadata.get(key).length ? String(call.metadata.get(key)[0]) : undefined);
        fenced = fencingHeaders((k) => header(k === "id" ? CONTROLLER_ID_HEADER : EPOCH_HEADER));
        await epochs.admit(rpc, who, fenced);
        // Work that waits for its service is judged again when it starts: a Fence may have come meanwhile.
        const caller = fenced;
        if (caller) {
          admission.beforeStart = () => epochs.admit(rpc, who, caller);
          // And once more right before it touches the service; a Fence waits for what passed this point.
          admission.beforeCommit = () => epochs.commit(rpc, who, caller);
        }
      }
      return impl(req, fenced, admission, call.deadlineMs);
    }, (err) => observer?.refused(rpc, err instanceof FleetError ? err.kind : "internal"));

  const server = new Server({
    ...SERVER_OPTIONS,
    "grpc.max_receive_message_length": config.limits.maxMessageBytes,
    "grpc.max_send_message_length": config.limits.maxMessageBytes,
    interceptors: [authenticateOnHeaders(() => state.authenticate, logger, (rpc, err) => observer?.refused(rpc, err instanceof FleetError ? err.kind : "internal"))],
  });
  server.addService(AgentServiceService, agentHandlers(core, guard, epochs, { status: new ReadLimiter(MAX_CONCURRENT_READS, MAX_WAITING_READS), diffs: new ReadLimiter(MAX_CONCURRENT_DIFFS, MAX_WAITING_DIFFS) }, observer));
  server.addService(HealthService, healthHandlers(logger));

  const tls = config.auth.mode === "tls" ? new ReloadableTlsCredentials(config.auth.material) : undefined;
  const injector = server.createConnectionInjector(tls ?? ServerCredentials.createInsecure());
  const gate = new ConnectionGate(config.limits, (socket) => injector.injectConnection(socket), logger);
  const listener = net.createServer((socket) => gate.admit(socket));
  const port = await listen(listener, config);
  // Accept errors (EMFILE under a flood) must not take the agent down.
  listener.on("error", (err) => logger.error("listening socket error", { error: err.message }));
  const address = config.listen.startsWith("unix:") ? config.listen : config.listen.replace(/:\d+$/, `:${port}`);
  logger.info("agent listening", { address, auth: config.auth.mode, services: [...config.services.keys()] });

  return {
    address,
    port,
    prepare(next) {
      const nextState: ServerState = { authenticate: createAuthenticator(next.auth), limiter: new RateLimiter(next.limits.mutationsPerSecond) };
      return () => {
        state = nextState;
        gate.setLimits(next.limits);
        if (tls && next.auth.mode === "tls") tls.update(next.auth.material);
      };
    },
    connections: async () => gate.open,
    async shutdown(graceMs) {
      listener.close();
      await shutdownGracefully(server, graceMs, () => logger.warn("shutdown grace period over; cancelling remaining calls", { grace_ms: graceMs }));
      gate.closeAll();
    },
  };
}

type Guard = <Req, Res>(rpc: string, impl: (req: Req, fenced: { id: string; epoch: ControllerEpoch } | undefined, gate: ChangeGate, deadlineMs: number) => Promise<Res>) => ReturnType<typeof unary<Req, Res>>;

function agentHandlers(core: AgentCore, guard: Guard, epochs: EpochGuard, limits: { status: ReadLimiter; diffs: ReadLimiter }, observer: AgentServerObserver | undefined): AgentServiceServer {
  const reads = limits.status;
  return {
    describe: guard("Describe", async () => core.describe()),
    status: guard("Status", async (req: { service: string; runningOnly: boolean }) =>
      reads.run(async () => ({
        hostname: core.hostname,
        services: (await core.status(req.service, { runningOnly: req.runningOnly })).map(statusToProto),
      })),
    ),
    probe: guard("Probe", async (req: { service: string }) => {
      if (!req.service) throw invalidArgument("service is required");
      return reads.run(() => core.probe(req.service));
    }),
    reload: guard("Reload", async (req: { requestId: string; service: string; allowRestart: boolean; generationTimeoutMs: number; healthyForMs: number }, _fenced, gate) => {
      if (!req.service) throw invalidArgument("service is required");
      if (req.generationTimeoutMs > MAX_OVERRIDE_MS || req.healthyForMs > MAX_OVERRIDE_MS) throw invalidArgument(`generation_timeout_ms and healthy_for_ms must be at most ${MAX_OVERRIDE_MS}`);
      const report = await core.reload(req, gate);
      observer?.reloaded(report, report.replayed);
      return reloadToProto(report, core.hostname);
    }),
    pushConfig: guard("PushConfig", async (req: PushConfigRequest, _fenced, gate) => {
      const report = await core.pushConfig({ requestId: req.requestId, service: req.service, files: pushedFiles(req), allowRestart: req.allowRestart, restoreOnFailure: req.restoreOnFailure }, gate);
      observer?.configChanged("push", report, report.replayed);
      return configChangeToProto(report, core.hostname);
    }),
    rollbackConfig: guard("RollbackConfig", async (req: RollbackConfigRequest, _fenced, gate) => {
      const report = await core.rollbackConfig({ requestId: req.requestId, service: req.service, files: restoredFiles(req), allowRestart: req.allowRestart }, gate);
      observer?.configChanged("rollback", report, report.replayed);
      return configChangeToProto(report, core.hostname);
    }),
    // Read-only, but it reads and diffs whole files: bounded like Status and Probe.
    diffConfig: guard("DiffConfig", async (req: DiffConfigRequest) => {
      const files = diffedFiles(req);
      return limits.diffs.run(async () => diffToProto(await core.diffConfig({ service: req.service, files, maxDiffBytes: req.maxDiffBytes }), core.hostname));
    }),
    // The guard has already checked and recorded the epoch; what is left is to wait for the older
    // epochs' changes already past their commit point, so that OK means none of them lands any more.
    fence: guard("Fence", async (_req: object, fenced, _gate, deadlineMs) => {
      if (!fenced) throw invalidArgument("Fence needs the x-fleet-controller-id and x-fleet-epoch metadata");
      const still = await epochs.settle(fenced, Math.min(deadlineMs - FENCE_ANSWER_MARGIN_MS, Date.now() + MAX_FENCE_WAIT_MS));
      if (still.length) {
        throw new FleetError(
          "unavailable",
          `epoch ${formatEpoch(fenced.epoch)} of controller ${fenced.id} is recorded (no call of an older epoch starts or commits any more), but ${plural(still.length, "change")} of older epochs committed before it ${still.length === 1 ? "is" : "are"} still in progress: ${still.join("; ")}; call Fence again to learn when ${still.length === 1 ? "it has" : "they have"} ended`,
        );
      }
      return { hostname: core.hostname, controllerId: fenced.id, epoch: formatEpoch(fenced.epoch) };
    }),
  };
}

function healthHandlers(logger: Logger) {
  return {
    check: unary<HealthCheckRequest, HealthCheckResponse>(logger, "Health.Check", async (req) => ({ status: servingStatus(req.service) })),
    watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
      // The agent is serving for as long as the stream lives; the client ends it.
      call.write({ status: servingStatus(call.request.service) });
      call.on("cancelled", () => call.end());
    },
  };
}

const servingStatus = (service: string) => (service === "" || service === "fleet.agent.v1.AgentService" ? Serving.SERVING : Serving.SERVICE_UNKNOWN);

/** Binds TCP, or a unix socket created 0600 and then given exactly its configured mode and group. */
async function listen(listener: net.Server, config: AgentConfig): Promise<number> {
  const fail = (err: Error) => new Error(`cannot listen on ${config.listen}: ${err.message}`);
  if (!config.listen.startsWith("unix:")) {
    const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(config.listen)!;
    await new Promise<void>((resolve, reject) => {
      listener.once("error", (err) => reject(fail(err)));
      listener.listen({ host: m[1], port: Number(m[2]) }, resolve);
    });
    return (listener.address() as net.AddressInfo).port;
  }
  const file = config.listen.slice(5);
  const existing = await lstat(file).catch(() => undefined);
  if (existing && !existing.isSocket()) throw fail(new Error(`${file} exists and is not a socket; refusing to remove it`));
  if (existing) await rm(file);
  await new Promise<void>((resolve, reject) => {
    listener.once("error", (err) => reject(fail(err)));
    // bind(2) happens inside listen(): under umask 0177 the socket is born 0600, never wider.
    const umask = process.umask(0o177);
    try {
      listener.listen(file, resolve);
    } finally {
      process.umask(umask);
    }
  });
  if (config.socket.gid !== undefined) await chown(file, process.getuid?.() ?? 0, config.socket.gid);
  await chmod(file, config.socket.mode);
  return 0;
}

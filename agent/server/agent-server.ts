// The gRPC surface of the agent. Handlers are thin: authenticate, validate the
// request's shape, call AgentCore, map the result; errors map in one place.
import { rmSync } from "node:fs";
import { Server, ServerCredentials, type ServerWritableStream } from "@grpc/grpc-js";
import { FleetError, invalidArgument } from "../../common/errors.js";
import { countConnections } from "../../common/grpc-connections.js";
import { mutualTlsCredentials, shutdownGracefully } from "../../common/grpc-server.js";
import { unary } from "../../common/grpc-status.js";
import type { Logger } from "../../common/logger.js";
import { AgentServiceService, type AgentServiceServer } from "../../proto/gen/fleet/agent/v1/agent.js";
import {
  HealthCheckResponse_ServingStatus as Serving,
  HealthService,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "../../proto/gen/grpc/health/v1/health.js";
import type { AgentCore } from "../agent-core.js";
import type { AgentConfig } from "../config/agent-config.js";
import type { AgentServerObserver } from "../metrics/agent-metrics.js";
import { createAuthenticator, type Authenticate } from "./authenticator.js";
import { RateLimiter } from "./rate-limiter.js";
import { configChangeToProto, reloadToProto, statusToProto } from "./to-proto.js";

const MAX_OVERRIDE_MS = 600_000;

export interface RunningAgentServer {
  /** The bound address, e.g. 127.0.0.1:41234 or unix:/run/fleet/agent.sock. */
  address: string;
  port: number;
  setAuth(config: AgentConfig): void;
  /** Client connections open right now. */
  connections(): Promise<number>;
  shutdown(graceMs: number): Promise<void>;
}

export async function startAgentServer(core: AgentCore, config: AgentConfig, logger: Logger, observer?: AgentServerObserver): Promise<RunningAgentServer> {
  let authenticate: Authenticate = createAuthenticator(config.auth);
  let limiter = new RateLimiter(config.limits.mutationsPerSecond);
  const guard = <Req, Res>(rpc: string, impl: (req: Req) => Promise<Res>) =>
    unary<Req, Res>(logger, rpc, async (req, call) => {
      const who = authenticate(call, rpc);
      if (rpc !== "Describe" && rpc !== "Status" && rpc !== "Probe") {
        // Per caller identity and source address: one noisy client cannot starve the rest.
        limiter.take(`${who} from ${call.peer.replace(/:\d+$/, "")}`);
        logger.info("call", { rpc, peer: call.peer, caller: who });
      }
      return impl(req);
    }, (err) => observer?.refused(rpc, err instanceof FleetError ? err.kind : "internal"));

  const agentService: AgentServiceServer = {
    describe: guard("Describe", async () => core.describe()),
    status: guard("Status", async (req: { service: string }) => ({
      hostname: core.hostname,
      services: (await core.status(req.service)).map(statusToProto),
    })),
    probe: guard("Probe", async (req: { service: string }) => {
      if (!req.service) throw invalidArgument("service is required");
      return core.probe(req.service);
    }),
    reload: guard("Reload", async (req: { requestId: string; service: string; allowRestart: boolean; generationTimeoutMs: number; healthyForMs: number }) => {
      if (!req.service) throw invalidArgument("service is required");
      if (req.generationTimeoutMs > MAX_OVERRIDE_MS || req.healthyForMs > MAX_OVERRIDE_MS) throw invalidArgument(`generation_timeout_ms and healthy_for_ms must be at most ${MAX_OVERRIDE_MS}`);
      const report = await core.reload(req);
      observer?.reloaded(report, report.replayed);
      return reloadToProto(report, core.hostname);
    }),
    pushConfig: guard("PushConfig", async (req: { requestId: string; service: string; path: string; content: Buffer; sha256: string; allowRestart: boolean }) => {
      if (!req.service || !req.path) throw invalidArgument("service and path are required");
      const report = await core.pushConfig({ ...req, content: Buffer.from(req.content) });
      observer?.configChanged("push", report, report.replayed);
      return configChangeToProto(report, core.hostname);
    }),
    rollbackConfig: guard("RollbackConfig", async (req: { requestId: string; service: string; path: string; sha256: string; allowRestart: boolean }) => {
      if (!req.service || !req.path || !req.sha256) throw invalidArgument("service, path and sha256 are required");
      const report = await core.rollbackConfig(req);
      observer?.configChanged("rollback", report, report.replayed);
      return configChangeToProto(report, core.hostname);
    }),
  };

  const health = {
    check: unary<HealthCheckRequest, HealthCheckResponse>(logger, "Health.Check", async (req) => ({ status: servingStatus(req.service) })),
    watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
      // The agent is serving for as long as the stream lives; the client ends it.
      call.write({ status: servingStatus(call.request.service) });
      call.on("cancelled", () => call.end());
    },
  };
  const servingStatus = (service: string) => (service === "" || service === "fleet.agent.v1.AgentService" ? Serving.SERVING : Serving.SERVICE_UNKNOWN);

  const server = new Server({
    "grpc.max_receive_message_length": config.limits.maxMessageBytes,
    "grpc.max_send_message_length": config.limits.maxMessageBytes,
    "grpc.keepalive_permit_without_calls": 1,
  });
  server.addService(AgentServiceService, agentService);
  server.addService(HealthService, health);

  if (config.listen.startsWith("unix:")) rmSync(config.listen.slice(5), { force: true });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(config.listen, serverCredentials(config), (err, p) => (err ? reject(new Error(`cannot listen on ${config.listen}: ${err.message}`)) : resolve(p))),
  );
  const address = config.listen.startsWith("unix:") ? config.listen : config.listen.replace(/:\d+$/, `:${port}`);
  logger.info("agent listening", { address, auth: config.auth.mode, services: [...config.services.keys()] });

  return {
    address,
    port,
    setAuth(next) {
      authenticate = createAuthenticator(next.auth);
      limiter = new RateLimiter(next.limits.mutationsPerSecond);
    },
    connections: () => countConnections(server),
    shutdown: (graceMs) =>
      shutdownGracefully(server, graceMs, () => logger.warn("shutdown grace period over; cancelling remaining calls", { grace_ms: graceMs })),
  };
}

function serverCredentials(config: AgentConfig): ServerCredentials {
  return config.auth.mode === "tls" ? mutualTlsCredentials(config.auth) : ServerCredentials.createInsecure();
}


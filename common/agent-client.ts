// The one way the CLI and the controller talk to an agent: promises, a
// deadline on every call, and transport failures turned into AgentCallError.
import { readFileSync } from "node:fs";
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from "@grpc/grpc-js";
import { AgentCallError } from "./agent-call-error.js";
import { CONTROLLER_ID_HEADER, EPOCH_HEADER, FENCED_RPCS, formatEpoch, type ControllerEpoch } from "./controller-epoch.js";
import {
  AgentServiceClient,
  type ConfigChangeResponse,
  type DiffConfigResponse,
  DiffConfigRequest,
  PushConfigRequest,
  RollbackConfigRequest,
  type DescribeResponse,
  type FenceResponse,
  type ProbeResponse,
  type ReloadRequest,
  type ReloadResponse,
  type StatusResponse,
} from "../proto/gen/fleet/agent/v1/agent.js";

export { AgentCallError };

export interface AgentClient {
  readonly address: string;
  describe(options?: CallOptions): Promise<DescribeResponse>;
  status(service?: string, options?: CallOptions): Promise<StatusResponse>;
  reload(request: ReloadRequest, options?: CallOptions): Promise<ReloadResponse>;
  probe(service: string, options?: CallOptions): Promise<ProbeResponse>;
  pushConfig(request: PushConfigCall, options?: CallOptions): Promise<ConfigChangeResponse>;
  rollbackConfig(request: RollbackConfigCall, options?: CallOptions): Promise<ConfigChangeResponse>;
  diffConfig(request: DiffConfigCall, options?: CallOptions): Promise<DiffConfigResponse>;
  /** Records this client's fencing identity and epoch on the agent (needs `fencing`). */
  fence(options?: CallOptions): Promise<FenceResponse>;
  close(): void;
}

/**
 * Requests whose omitted fields take their proto defaults: a single file
 * (path, content, sha256) or a set (files) — never both.
 */
export type PushConfigCall = Pick<PushConfigRequest, "requestId" | "service" | "allowRestart"> & Partial<PushConfigRequest>;
export type RollbackConfigCall = Pick<RollbackConfigRequest, "requestId" | "service" | "allowRestart"> & Partial<RollbackConfigRequest>;
export type DiffConfigCall = Pick<DiffConfigRequest, "service" | "files"> & Partial<DiffConfigRequest>;

export interface CallOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
}

export interface AgentClientOptions {
  /** Default deadline for quick calls (Describe, Status, Probe). */
  deadlineMs?: number;
  /** Deadline for Reload, which waits for evidence on the agent. */
  reloadDeadlineMs?: number;
  token?: string;
  tls?: { ca: Buffer; cert: Buffer; key: Buffer; serverName?: string };
  /** The controller's identity and epoch, sent with every mutating call as gRPC metadata (the agent fences older epochs). */
  fencing?: { controllerId: string; epoch: ControllerEpoch };
}

export function readTokenFile(file: string): string {
  return readFileSync(file, "utf8").trim();
}

export function createAgentClient(address: string, options: AgentClientOptions = {}): AgentClient {
  const creds: ChannelCredentials = options.tls
    ? credentials.createSsl(options.tls.ca, options.tls.key, options.tls.cert)
    : credentials.createInsecure();
  const channelOptions: Record<string, string | number> = {
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
    // Channels are kept and reused (the controller's agent pool): while calls run, pings keep the
    // connection checked through NAT and firewalls, no more often than a gRPC server accepts by
    // default (5 min). Nothing connects ahead of a call: the agent closes connections that carry
    // no call within its handshake_timeout.
    "grpc.keepalive_time_ms": 300_000,
    "grpc.keepalive_timeout_ms": 20_000,
    "grpc.client_idle_timeout_ms": 3_600_000,
  };
  if (options.tls?.serverName) channelOptions["grpc.ssl_target_name_override"] = options.tls.serverName;
  const client = new AgentServiceClient(address, creds, channelOptions);
  const quick = options.deadlineMs ?? 5000;
  const slow = options.reloadDeadlineMs ?? 120_000;

  // Built once per client: grpc-js clones the metadata of every call before it adds its own headers.
  const plain = new Metadata();
  if (options.token) plain.set("authorization", `Bearer ${options.token}`);
  const fenced = plain.clone();
  if (options.fencing) {
    fenced.set(CONTROLLER_ID_HEADER, options.fencing.controllerId);
    fenced.set(EPOCH_HEADER, formatEpoch(options.fencing.epoch));
  }

  const call = <Req, Res>(rpc: string, method: Function, request: Req, deadlineMs: number, signal?: AbortSignal): Promise<Res> =>
    new Promise<Res>((resolve, reject) => {
      const metadata = options.fencing && (FENCED_RPCS as readonly string[]).includes(rpc) ? fenced : plain;
      const c = method.call(client, request, metadata, { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, res: Res) => {
        if (signal) signal.removeEventListener("abort", onAbort);
        if (err) reject(new AgentCallError(address, rpc, err));
        else resolve(res);
      });
      const onAbort = () => c.cancel();
      if (signal) signal.addEventListener("abort", onAbort, { once: true });
    });

  return {
    address,
    describe: (o = {}) => call("Describe", client.describe, {}, o.deadlineMs ?? quick, o.signal),
    status: (service = "", o = {}) => call("Status", client.status, { service }, o.deadlineMs ?? quick, o.signal),
    reload: (request, o = {}) => call("Reload", client.reload, request, o.deadlineMs ?? slow, o.signal),
    probe: (service, o = {}) => call("Probe", client.probe, { service }, o.deadlineMs ?? quick, o.signal),
    pushConfig: (request, o = {}) => call("PushConfig", client.pushConfig, PushConfigRequest.fromPartial(request), o.deadlineMs ?? slow, o.signal),
    rollbackConfig: (request, o = {}) => call("RollbackConfig", client.rollbackConfig, RollbackConfigRequest.fromPartial(request), o.deadlineMs ?? slow, o.signal),
    // Reads and diffs whole files on the agent: the slow deadline.
    diffConfig: (request, o = {}) => call("DiffConfig", client.diffConfig, DiffConfigRequest.fromPartial(request), o.deadlineMs ?? slow, o.signal),
    fence: (o = {}) => call("Fence", client.fence, {}, o.deadlineMs ?? quick, o.signal),
    close: () => client.close(),
  };
}

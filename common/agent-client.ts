// The one way the CLI and the controller talk to an agent: promises, a
// deadline on every call, and transport failures turned into AgentCallError.
import { readFileSync } from "node:fs";
import { credentials, Metadata, status, type ChannelCredentials, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { AgentCallError } from "./agent-call-error.js";
import { CONTROLLER_ID_HEADER, EPOCH_HEADER, FENCED_RPCS, formatEpoch, type ControllerEpoch } from "./controller-epoch.js";
import {
  AgentServiceClient,
  AgentServiceService,
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
  /** `runningOnly`: only whether the service runs and its declared config paths (see StatusRequest.running_only). */
  status(service?: string, options?: CallOptions & { runningOnly?: boolean }): Promise<StatusResponse>;
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
    // fleet never serves channelz: without it a call skips its counters and trace events, and each
    // channel keeps no trace (about 3 KB less per agent in a controller's heap at 10,000 agents).
    "grpc.enable_channelz": 0,
    // Each channel its own subchannel pool (one address each, nothing to share): closing a channel
    // sweeps only its own, where the process-wide pool made closing every channel (a SIGHUP's new
    // inventory, shutdown) quadratic — about 30 s of blocked event loop at 10,000 agents.
    "grpc.use_local_subchannel_pool": 1,
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

  const channel = client.getChannel();
  /**
   * One unary call on the channel itself, as grpc-js's generated client makes it minus what fleet
   * does not use: interceptors, the call's event emitter and the caller's stack captured on every
   * call (a sixth of a call's CPU; a controller makes two calls per host-step). The channel still
   * applies the deadline, the message size limits and the credentials.
   */
  const call = <Req, Res>(rpc: string, method: UnaryMethod<Req, Res>, request: Req, deadlineMs: number, signal?: AbortSignal): Promise<Res> =>
    new Promise<Res>((resolve, reject) => {
      const metadata = options.fencing && (FENCED_RPCS as readonly string[]).includes(rpc) ? fenced : plain;
      const c = channel.createCall(method.path, Date.now() + deadlineMs, null, null, null);
      const onAbort = () => c.cancelWithStatus(status.CANCELLED, "Cancelled on client");
      let response: Res | undefined;
      c.start(metadata, {
        onReceiveMetadata: () => undefined,
        onReceiveMessage: (bytes: Buffer) => {
          try {
            response = method.responseDeserialize(bytes);
          } catch (err) {
            c.cancelWithStatus(status.INTERNAL, `Response message parsing error: ${err instanceof Error ? err.message : String(err)}`);
          }
        },
        onReceiveStatus: (s: StatusObject) => {
          if (signal) signal.removeEventListener("abort", onAbort);
          if (s.code === status.OK && response !== undefined) resolve(response);
          else reject(new AgentCallError(address, rpc, serviceError(s.code === status.OK ? { ...s, code: status.UNIMPLEMENTED, details: "No message received" } : s)));
        },
      });
      c.startRead();
      let bytes: Buffer;
      try {
        bytes = method.requestSerialize(request);
      } catch (err) {
        c.cancelWithStatus(status.INTERNAL, `Request message serialization failure: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      c.sendMessageWithContext({}, bytes);
      c.halfClose();
      if (signal) signal.addEventListener("abort", onAbort, { once: true });
    });

  const m = AgentServiceService;
  return {
    address,
    describe: (o = {}) => call("Describe", m.describe, {}, o.deadlineMs ?? quick, o.signal),
    status: (service = "", o = {}) => call("Status", m.status, { service, runningOnly: !!o.runningOnly }, o.deadlineMs ?? quick, o.signal),
    reload: (request, o = {}) => call("Reload", m.reload, request, o.deadlineMs ?? slow, o.signal),
    probe: (service, o = {}) => call("Probe", m.probe, { service }, o.deadlineMs ?? quick, o.signal),
    pushConfig: (request, o = {}) => call("PushConfig", m.pushConfig, PushConfigRequest.fromPartial(request), o.deadlineMs ?? slow, o.signal),
    rollbackConfig: (request, o = {}) => call("RollbackConfig", m.rollbackConfig, RollbackConfigRequest.fromPartial(request), o.deadlineMs ?? slow, o.signal),
    // Reads and diffs whole files on the agent: the slow deadline.
    diffConfig: (request, o = {}) => call("DiffConfig", m.diffConfig, DiffConfigRequest.fromPartial(request), o.deadlineMs ?? slow, o.signal),
    fence: (o = {}) => call("Fence", m.fence, {}, o.deadlineMs ?? quick, o.signal),
    close: () => client.close(),
  };
}

interface UnaryMethod<Req, Res> {
  path: string;
  requestSerialize(value: Req): Buffer;
  responseDeserialize(bytes: Buffer): Res;
}

/** The error grpc-js's client gives for a failed call: its status, and "CODE NAME: details" as the message. */
function serviceError(s: StatusObject): ServiceError {
  return Object.assign(new Error(`${s.code} ${status[s.code]}: ${s.details}`), s);
}

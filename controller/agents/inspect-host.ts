// Asks one agent what the controller needs to know before acting on it, or to
// report it: does it answer, does it accept our credentials, does it declare
// the service (and which config paths), is the service running. One Status
// call answers all of it: the agent refuses a Status for a service it does not
// declare, and its answer lists every declared config path of the service.
// Describe is asked only after a refusal, to tell an undeclared service from
// refused credentials. Each call has the deadline; nothing here throws.
import { status as grpcStatus, type ServiceError } from "@grpc/grpc-js";
import { grpcMessage } from "../../common/grpc-message.js";
import { AgentCallError } from "../../common/agent-call-error.js";
import type { AgentClient } from "../../common/agent-client.js";
import type { DescribeResponse, ServiceStatus } from "../../proto/gen/fleet/agent/v1/agent.js";

/** up, unhealthy, not_running, not_declared, denied (credentials refused), unreachable. */
export type HostState = "up" | "unhealthy" | "not_running" | "not_declared" | "denied" | "unreachable";

export interface HostInspection {
  state: HostState;
  /** Why, when the state is not `up`. */
  problem: string;
  hostname: string;
  /** The service's config paths as the agent declares them (empty when not declared or unknown). */
  configPaths: string[];
  /** The service's status, when the agent gave it. */
  status?: ServiceStatus;
}

/**
 * `runningOnly` (the preflight): the agent answers only whether the service runs and its config
 * paths, without probing or reading workers, sockets and hashes; a running service is then `up`.
 */
export async function inspectHost(client: () => AgentClient, service: string, deadlineMs: number, options: { runningOnly?: boolean } = {}): Promise<HostInspection> {
  let c: AgentClient;
  try {
    c = client();
  } catch (err) {
    return { state: "denied", problem: `cannot call the agent: ${message(err)}`, hostname: "", configPaths: [] };
  }
  const runningOnly = !!options.runningOnly;
  const status = await settle(c.status(service, { deadlineMs, runningOnly }));
  const described = status.status === "rejected" && isDenied(status.reason) ? await settle(c.describe({ deadlineMs })) : undefined;
  return judge(service, described, status, runningOnly);
}

function settle<T>(p: Promise<T>): Promise<PromiseSettledResult<T>> {
  return p.then(
    (value) => ({ status: "fulfilled", value }),
    (reason: unknown) => ({ status: "rejected", reason }),
  );
}

/**
 * Pure: the answers (or failures) -> the host's state. `described` is undefined when Describe was not asked (Status answered,
 * or failed other than by a refusal). `runningOnly`: the Status did not judge health, so running is `up`.
 */
export function judge(service: string, described: PromiseSettledResult<DescribeResponse> | undefined, status: PromiseSettledResult<{ hostname: string; services: ServiceStatus[] }>, runningOnly = false): HostInspection {
  const base = { hostname: "", configPaths: [] as string[] };
  if (described?.status === "rejected") {
    const err = described.reason;
    if (isUnreachable(err)) return { ...base, state: "unreachable", problem: message(err) };
    // Describe may be refused by the agent's tls.allow while Status is allowed: then Status decides.
    if (isDenied(err) && status.status === "rejected") return { ...base, state: "denied", problem: `the agent refused the controller: ${message(err)}` };
  }
  const d = described?.status === "fulfilled" ? described.value : undefined;
  const svc = d?.services.find((s) => s.name === service);
  if (d && !svc) return { ...base, hostname: d.hostname, state: "not_declared", problem: `service ${service} is not declared on this agent; declared: ${d.services.map((s) => s.name).join(", ") || "(none)"}` };
  const hostname = d?.hostname ?? (status.status === "fulfilled" ? status.value.hostname : "");
  const configPaths = svc?.configPaths ?? [];
  if (status.status === "rejected") {
    const err = status.reason;
    const state: HostState = isUnreachable(err) ? "unreachable" : isDenied(err) ? "denied" : "not_running";
    return { hostname, configPaths, state, problem: message(err) };
  }
  // Only an answer about the service asked for counts.
  const s = status.value.services.find((x) => x.name === service);
  if (!s) return { hostname, configPaths, state: "not_declared", problem: `service ${service} is not declared on this agent` };
  const state: HostState = !s.running ? "not_running" : !s.healthy && !runningOnly ? "unhealthy" : "up";
  return { hostname, configPaths: configPaths.length ? configPaths : s.configs.map((x) => x.path), status: s, state, problem: state === "up" ? "" : s.error || (s.running ? "health probes failing" : "not running") };
}

function isUnreachable(err: unknown): boolean {
  return err instanceof AgentCallError && err.unreachable;
}

function isDenied(err: unknown): boolean {
  return err instanceof AgentCallError && (err.code === grpcStatus.UNAUTHENTICATED || err.code === grpcStatus.PERMISSION_DENIED);
}

/** The agent's or the transport's own words, without the call and address the caller already shows. */
function message(err: unknown): string {
  if (err instanceof AgentCallError && err.cause) return grpcMessage(err.cause as ServiceError);
  return err instanceof Error ? err.message : String(err);
}

// Which changes of agent.yaml a running agent cannot take on SIGHUP: they are
// fixed when the listening socket and the gRPC server are created.
import type { AgentConfig } from "./agent-config.js";

/** Why `next` needs a restart; empty when SIGHUP can apply it. */
export function restartNeeded(current: AgentConfig, next: AgentConfig): string[] {
  const reasons: string[] = [];
  if (next.listen !== current.listen) reasons.push(`listen changed from ${current.listen} to ${next.listen}`);
  if (next.socket.mode !== current.socket.mode || next.socket.gid !== current.socket.gid) reasons.push("socket_mode or socket_group changed");
  const transport = (c: AgentConfig) => (c.auth.mode === "tls" ? "tls" : "plaintext (token or insecure)");
  if (transport(next) !== transport(current)) reasons.push(`the transport changed from ${transport(current)} to ${transport(next)}`);
  if (next.limits.maxMessageBytes !== current.limits.maxMessageBytes) reasons.push("limits.max_message_bytes changed");
  if (next.metrics?.listen !== current.metrics?.listen) reasons.push(`metrics.listen changed from ${current.metrics?.listen ?? "off"} to ${next.metrics?.listen ?? "off"}`);
  if ((next.metrics?.tls ?? false) !== (current.metrics?.tls ?? false)) reasons.push(`metrics.tls changed from ${current.metrics?.tls ?? false} to ${next.metrics?.tls ?? false}`);
  return reasons;
}

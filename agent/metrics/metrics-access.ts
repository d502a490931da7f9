// Who may read the agent's metrics over HTTPS (metrics.tls: true): a client
// certificate from the agent's CA, admitted by tls.allow.Metrics as the config
// says now (a SIGHUP that removes a name refuses it at once).
import type { ClientCertAccess } from "../../common/http-listener.js";
import type { AgentConfig } from "../config/agent-config.js";
import { allowRefusal } from "../server/authenticator.js";

/** undefined: plain HTTP on loopback. */
export function metricsAccess(config: AgentConfig, current: () => AgentConfig): ClientCertAccess | undefined {
  if (!config.metrics?.tls || config.auth.mode !== "tls") return undefined;
  return {
    material: config.auth.material,
    refuse(name) {
      const auth = current().auth;
      if (auth.mode !== "tls") return "metrics over HTTPS need the agent's tls";
      return name ? allowRefusal(auth.allow, "Metrics", name) : "the client certificate has no name (CN)";
    },
  };
}

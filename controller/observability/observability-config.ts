// fleet.yaml's `metrics:` and `web:` sections: opt-in listeners, loopback only.
import { duration, noUnknownKeys, record, type Problems } from "../../common/field-checks.js";
import { loopbackListen } from "../../common/loopback-listen.js";

export interface MetricsConfig {
  listen: string;
  /** How often every agent is asked for its status to keep fleet_agent_reachable current; 0 = only from rollouts. */
  agentCheckMs: number;
}

export interface WebConfig {
  listen: string;
}

export function parseMetricsConfig(v: unknown, p: Problems): MetricsConfig | undefined {
  const m = record(v, ["metrics"], p);
  if (!m) return undefined;
  noUnknownKeys(m, ["listen", "agent_check"], ["metrics"], p);
  const listen = loopbackListen(m.listen, ["metrics", "listen"], p);
  const agentCheckMs = m.agent_check === undefined ? 60_000 : duration(m.agent_check, ["metrics", "agent_check"], p, 86_400_000);
  return listen && agentCheckMs !== undefined ? { listen, agentCheckMs } : undefined;
}

export function parseWebConfig(v: unknown, p: Problems): WebConfig | undefined {
  const w = record(v, ["web"], p);
  if (!w) return undefined;
  noUnknownKeys(w, ["listen"], ["web"], p);
  const listen = loopbackListen(w.listen, ["web", "listen"], p);
  return listen ? { listen } : undefined;
}

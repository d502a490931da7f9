// fleet.yaml's `metrics:` and `web:` sections: opt-in listeners, plain HTTP on
// loopback, or HTTPS anywhere with `tls` (client certificates whose names have
// the read role in controller.operators).
import { duration, noUnknownKeys, record, type Path, type Problems } from "../../common/field-checks.js";
import { httpListen } from "../../common/loopback-listen.js";
import type { TlsPaths } from "../inventory/inventory.js";
import { tlsPaths } from "../inventory/parse-tls-paths.js";

export interface MetricsConfig {
  listen: string;
  /** How often every agent is asked for its status to keep fleet_agent_reachable current; 0 = only from rollouts. */
  agentCheckMs: number;
  /** HTTPS with required client certificates; absent = plain HTTP on loopback. */
  tls?: TlsPaths;
}

export interface WebConfig {
  listen: string;
  tls?: TlsPaths;
}

/** `controllerTls`: what `tls: true` stands for — controller.tls, else the top-level tls. */
export function parseMetricsConfig(v: unknown, p: Problems, controllerTls: TlsPaths | undefined): MetricsConfig | undefined {
  const m = record(v, ["metrics"], p);
  if (!m) return undefined;
  noUnknownKeys(m, ["listen", "agent_check", "tls"], ["metrics"], p);
  const tls = listenerTls(m.tls, ["metrics", "tls"], p, controllerTls);
  const listen = httpListen(m.listen, ["metrics", "listen"], p, tlsAsked(m.tls), "metrics.tls: {cert, key, ca}, or true for the controller's own");
  const agentCheckMs = m.agent_check === undefined ? 60_000 : duration(m.agent_check, ["metrics", "agent_check"], p, 86_400_000);
  return listen && agentCheckMs !== undefined && tls !== null ? { listen, agentCheckMs, ...(tls ? { tls } : {}) } : undefined;
}

export function parseWebConfig(v: unknown, p: Problems, controllerTls: TlsPaths | undefined): WebConfig | undefined {
  const w = record(v, ["web"], p);
  if (!w) return undefined;
  noUnknownKeys(w, ["listen", "tls"], ["web"], p);
  const tls = listenerTls(w.tls, ["web", "tls"], p, controllerTls);
  const listen = httpListen(w.listen, ["web", "listen"], p, tlsAsked(w.tls), "web.tls: {cert, key, ca}, or true for the controller's own");
  return listen && tls !== null ? { listen, ...(tls ? { tls } : {}) } : undefined;
}

const tlsAsked = (raw: unknown) => raw !== undefined && raw !== false;

/** `tls: {cert, key, ca}`, `true` (the controller's), or `false`/absent (off); null = a problem was reported. */
function listenerTls(raw: unknown, path: Path, p: Problems, controllerTls: TlsPaths | undefined): TlsPaths | undefined | null {
  if (raw === undefined) return undefined;
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) return tlsPaths(raw, path, p) ?? null;
  if (typeof raw !== "boolean") return p.add(path, `must be {cert, key, ca}, true (the controller's TLS files) or false, got ${JSON.stringify(raw)}`) ?? null;
  if (!raw) return undefined;
  if (controllerTls) return controllerTls;
  p.add(path, "true uses the controller's TLS files (controller.tls, else the top-level tls), and neither is set: give tls: {cert, key, ca}");
  return null;
}

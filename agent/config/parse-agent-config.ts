// Compiles agent.yaml's data into an AgentConfig, reporting every problem with
// its field path. What the config names on the host (token, TLS files, users,
// groups) is resolved through HostFacts, so nothing is left to fail later.
import { posix } from "node:path";
import type { ConfigProblem } from "../../common/errors.js";
import {
  Problems, type Path, record, noUnknownKeys, string, bool, int, duration, oneOf, argv, regex, absolutePath, isRecord,
} from "../../common/field-checks.js";
import { httpListen } from "../../common/loopback-listen.js";
import {
  AGENT_DEFAULTS, TLS_ALLOW_KEYS, RELOAD_SIGNALS, type AgentAuth, type AgentConfig, type ConfigFileSpec, type GenerationSpec,
  type MainTarget, type ProbeSpec, type ReloadSpec, type ServiceConfig,
} from "./agent-config.js";
import { declaredFileProblem } from "./declared-file-name.js";
import type { HostFacts } from "./host-facts.js";
import { resolveGroup, resolveOwner, resolveTls, resolveToken } from "./resolve-host-facts.js";

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problems: ConfigProblem[] };

const TOP_KEYS = ["listen", "socket_mode", "socket_group", "tls", "auth", "insecure", "limits", "services", "state_dir", "keep_versions", "shutdown_timeout", "metrics"] as const;
const SERVICE_KEYS = [
  "reload", "check", "generation", "reject_markers", "health", "configs", "allow_restart",
  "generation_timeout", "healthy_for", "probe_interval", "command_timeout", "check_mode", "expect",
] as const;
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export function parseAgentConfig(data: unknown, host: HostFacts): ParseResult<AgentConfig> {
  const p = new Problems();
  const top = record(data ?? {}, [], p);
  if (!top) return { ok: false, problems: p.list };
  noUnknownKeys(top, TOP_KEYS, [], p);

  const listen = top.listen === undefined ? AGENT_DEFAULTS.listen : parseListen(top.listen, ["listen"], p);
  const socket = parseSocket(top, host, p);
  const auth = parseAuth(top, host, p);
  const limits = parseLimits(top.limits, p);
  const shutdownTimeoutMs = top.shutdown_timeout === undefined ? AGENT_DEFAULTS.shutdownTimeoutMs : duration(top.shutdown_timeout, ["shutdown_timeout"], p, 3_600_000) ?? AGENT_DEFAULTS.shutdownTimeoutMs;
  const stateDir = top.state_dir === undefined ? AGENT_DEFAULTS.stateDir : absolutePath(top.state_dir, ["state_dir"], p) ?? AGENT_DEFAULTS.stateDir;
  const keepVersions = top.keep_versions === undefined ? AGENT_DEFAULTS.keepVersions : int(top.keep_versions, ["keep_versions"], p, 1, 100) ?? AGENT_DEFAULTS.keepVersions;

  const services = new Map<string, ServiceConfig>();
  const rawServices = top.services === undefined ? p.add(["services"], "is required: declare at least one service") : record(top.services, ["services"], p);
  if (rawServices) {
    if (Object.keys(rawServices).length === 0) p.add(["services"], "declares no service; the agent would have nothing to do");
    for (const [name, raw] of Object.entries(rawServices)) {
      if (!SERVICE_NAME.test(name)) p.add(["services", name], "service name must be 1-64 letters, digits, '_', '.', '@' or '-'");
      const svc = parseService(name, raw, ["services", name], p, host);
      if (svc) services.set(name, svc);
    }
  }
  const metrics = top.metrics === undefined ? undefined : parseMetrics(top.metrics, top.tls !== undefined && top.tls !== false, p);
  if (p.list.length || listen === undefined || auth === undefined) return { ok: false, problems: p.list };
  return { ok: true, value: { listen, socket, auth, limits, shutdownTimeoutMs, services, stateDir, keepVersions, ...(metrics ? { metrics } : {}) } };
}

/**
 * `metrics: {listen, tls}`: Prometheus metrics over plain HTTP on loopback, or with
 * `tls: true` over HTTPS anywhere, with the agent's own certificate, key and CA
 * (so only an agent with `tls:` can) and the client names tls.allow.Metrics admits.
 */
function parseMetrics(v: unknown, agentTls: boolean, p: Problems): AgentConfig["metrics"] {
  const m = record(v, ["metrics"], p);
  if (!m) return undefined;
  noUnknownKeys(m, ["listen", "tls"], ["metrics"], p);
  const tls = m.tls === undefined ? false : bool(m.tls, ["metrics", "tls"], p);
  if (tls && !agentTls) p.add(["metrics", "tls"], "needs the agent's mutual TLS (tls: {cert, key, ca}): metrics over HTTPS use its certificate, key and CA; with auth.token_file or insecure: true, keep metrics on loopback without tls");
  const listen = httpListen(m.listen, ["metrics", "listen"], p, tls === true, "metrics.tls: true, with the agent's tls: {cert, key, ca}");
  return listen && tls !== undefined ? { listen, tls } : undefined;
}

export function parseListen(v: unknown, path: Path, p: Problems): string | undefined {
  const s = string(v, path, p);
  if (s === undefined) return undefined;
  if (s.startsWith("unix:")) {
    if (!s.slice(5).startsWith("/")) return p.add(path, `unix socket must be an absolute path like unix:/run/fleet/agent.sock, got ${JSON.stringify(s)}`);
    return s;
  }
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) return p.add(path, `must be HOST:PORT (port 0-65535) or unix:/PATH, got ${JSON.stringify(s)}`);
  return s;
}

function parseSocket(top: Record<string, unknown>, host: HostFacts, p: Problems): AgentConfig["socket"] {
  let mode: number = AGENT_DEFAULTS.socketMode;
  if (top.socket_mode !== undefined) mode = octalMode(top.socket_mode, ["socket_mode"], p) ?? mode;
  if (top.socket_group === undefined) return { mode };
  const group = string(top.socket_group, ["socket_group"], p);
  const gid = group === undefined ? undefined : resolveGroup(group, host, ["socket_group"], p);
  return { mode, group, gid };
}

function octalMode(v: unknown, path: Path, p: Problems): number | undefined {
  const m = typeof v === "string" && /^0?[0-7]{3}$/.test(v) ? parseInt(v, 8) : undefined;
  return m === undefined ? p.add(path, `must be an octal mode string like "0644", got ${JSON.stringify(v)}`) : m;
}

function parseAuth(top: Record<string, unknown>, host: HostFacts, p: Problems): AgentAuth | undefined {
  const chosen = ["tls", "auth", "insecure"].filter((k) => top[k] !== undefined && top[k] !== false);
  if (chosen.length > 1) return p.add([chosen[1]!], `conflicts with ${chosen[0]}: choose one of tls, auth (token) or insecure: true`);
  if (top.insecure !== undefined) bool(top.insecure, ["insecure"], p);
  if (top.tls !== undefined) {
    const t = record(top.tls, ["tls"], p);
    if (!t) return undefined;
    noUnknownKeys(t, ["cert", "key", "ca", "allow"], ["tls"], p);
    const cert = absolutePath(t.cert, ["tls", "cert"], p);
    const key = absolutePath(t.key, ["tls", "key"], p);
    const ca = absolutePath(t.ca, ["tls", "ca"], p);
    let allow: Record<string, string[]> | undefined;
    if (t.allow !== undefined) {
      const a = record(t.allow, ["tls", "allow"], p);
      if (a) {
        noUnknownKeys(a, TLS_ALLOW_KEYS, ["tls", "allow"], p);
        allow = {};
        for (const [rpc, names] of Object.entries(a)) {
          if (!Array.isArray(names) || !names.every((n) => typeof n === "string" && n.length > 0)) p.add(["tls", "allow", rpc], 'must be a list of client certificate names (CN), or ["*"]');
          else allow[rpc] = names as string[];
        }
      }
    }
    if (!cert || !key || !ca) return undefined;
    const material = resolveTls({ cert, key, ca }, host, p);
    return material ? { mode: "tls", cert, key, ca, allow, material } : undefined;
  }
  if (top.auth !== undefined) {
    const a = record(top.auth, ["auth"], p);
    if (!a) return undefined;
    noUnknownKeys(a, ["token_file"], ["auth"], p);
    const tokenFile = absolutePath(a.token_file, ["auth", "token_file"], p);
    const tokenDigest = tokenFile === undefined ? undefined : resolveToken(tokenFile, host, ["auth", "token_file"], p);
    return tokenFile && tokenDigest ? { mode: "token", tokenFile, tokenDigest } : undefined;
  }
  if (top.insecure === true) return { mode: "insecure" };
  return p.add(
    [],
    "no authentication configured: set tls: {cert, key, ca} (mutual TLS), auth: {token_file: /etc/fleet/agent.token}, or insecure: true (loopback demos only)",
  );
}

function parseLimits(v: unknown, p: Problems): AgentConfig["limits"] {
  const limits: AgentConfig["limits"] = {
    maxMessageBytes: AGENT_DEFAULTS.maxMessageBytes,
    maxConcurrentReloads: AGENT_DEFAULTS.maxConcurrentReloads,
    maxConfigBytes: AGENT_DEFAULTS.maxConfigBytes,
    mutationsPerSecond: AGENT_DEFAULTS.mutationsPerSecond,
    maxConnections: AGENT_DEFAULTS.maxConnections,
    maxConnectionsPerPeer: AGENT_DEFAULTS.maxConnectionsPerPeer,
    handshakeTimeoutMs: AGENT_DEFAULTS.handshakeTimeoutMs,
  };
  if (v === undefined) return limits;
  const l = record(v, ["limits"], p);
  if (!l) return limits;
  noUnknownKeys(l, ["max_message_bytes", "max_concurrent_reloads", "max_config_bytes", "mutations_per_second", "max_connections", "max_connections_per_peer", "handshake_timeout"], ["limits"], p);
  if (l.max_connections !== undefined) limits.maxConnections = int(l.max_connections, ["limits", "max_connections"], p, 8, 100_000) ?? limits.maxConnections;
  if (l.max_connections_per_peer !== undefined) limits.maxConnectionsPerPeer = int(l.max_connections_per_peer, ["limits", "max_connections_per_peer"], p, 2, 100_000) ?? limits.maxConnectionsPerPeer;
  if (l.handshake_timeout !== undefined) limits.handshakeTimeoutMs = duration(l.handshake_timeout, ["limits", "handshake_timeout"], p, 600_000) ?? limits.handshakeTimeoutMs;
  if (limits.handshakeTimeoutMs < 100) p.add(["limits", "handshake_timeout"], "must be at least 100ms");
  if (l.mutations_per_second !== undefined) limits.mutationsPerSecond = int(l.mutations_per_second, ["limits", "mutations_per_second"], p, 1, 100_000) ?? limits.mutationsPerSecond;
  if (l.max_config_bytes !== undefined) limits.maxConfigBytes = int(l.max_config_bytes, ["limits", "max_config_bytes"], p, 1, 64 * 1024 * 1024) ?? limits.maxConfigBytes;
  if (l.max_message_bytes !== undefined) limits.maxMessageBytes = int(l.max_message_bytes, ["limits", "max_message_bytes"], p, 1024, 256 * 1024 * 1024) ?? limits.maxMessageBytes;
  if (l.max_concurrent_reloads !== undefined) limits.maxConcurrentReloads = int(l.max_concurrent_reloads, ["limits", "max_concurrent_reloads"], p, 1, 1000) ?? limits.maxConcurrentReloads;
  return limits;
}

function parseService(name: string, raw: unknown, path: Path, p: Problems, host: HostFacts): ServiceConfig | undefined {
  const s = record(raw, path, p);
  if (!s) return undefined;
  noUnknownKeys(s, SERVICE_KEYS, path, p);
  const reload = s.reload === undefined ? p.add([...path, "reload"], "is required: how this service reloads") : parseReload(s.reload, [...path, "reload"], p);
  const configs = s.configs === undefined ? [] : parseConfigs(s.configs, [...path, "configs"], p, host);
  let check: string[] | undefined;
  if (s.check !== undefined) {
    check = argv(s.check, [...path, "check"], p);
    if (check?.some((a) => a.includes("{path}")) && configs.length === 0) {
      p.add([...path, "check"], "uses {path} but the service declares no configs to substitute");
    }
  }
  const unit = reload ? serviceUnit(reload) : undefined;
  const generation = s.generation === undefined ? { kind: "auto" as const } : parseGeneration(s.generation, [...path, "generation"], unit, p);
  const rejectMarkers = s.reject_markers === undefined ? undefined : parseRejectMarkers(s.reject_markers, [...path, "reject_markers"], unit, p);
  const expect = s.expect === undefined ? undefined : parseExpect(s.expect, [...path, "expect"], p);
  const health: ProbeSpec[] = [];
  if (s.health !== undefined) {
    if (!Array.isArray(s.health)) p.add([...path, "health"], "must be a list of probes ({http: URL}, {tcp: HOST:PORT} or {exec: [argv]})");
    else s.health.forEach((h, i) => {
      const probe = parseProbe(h, [...path, "health", i], p);
      if (probe) health.push(probe);
    });
  }
  const allowRestart = s.allow_restart === undefined ? false : bool(s.allow_restart, [...path, "allow_restart"], p) ?? false;
  const d = (key: string, def: number, max?: number) => (s[key] === undefined ? def : duration(s[key], [...path, key], p, max) ?? def);
  const timeouts = {
    generationMs: d("generation_timeout", AGENT_DEFAULTS.generationMs, 600_000),
    healthyForMs: d("healthy_for", AGENT_DEFAULTS.healthyForMs, 600_000),
    probeIntervalMs: d("probe_interval", AGENT_DEFAULTS.probeIntervalMs, 60_000),
    commandMs: d("command_timeout", AGENT_DEFAULTS.commandMs, 600_000),
  };
  const checkMode = s.check_mode === undefined ? "staged" : oneOf(s.check_mode, ["staged", "live"] as const, [...path, "check_mode"], p) ?? "staged";
  if (!reload || !generation) return undefined;
  return { name, reload, check, generation, rejectMarkers, expect, health, configs, allowRestart, checkMode, timeouts };
}

/** The systemd unit a service runs under, when its reload names one. */
function serviceUnit(r: ReloadSpec): string | undefined {
  if (r.method === "systemd") return r.unit;
  if ((r.method === "signal" || r.method === "command") && r.target?.kind === "unit") return r.target.unit;
  return undefined;
}

/** `journal: true` reads the service's own unit; `journal: NAME` another one. */
function journalUnit(v: unknown, path: Path, unit: string | undefined, p: Problems): string | undefined {
  if (v === true) {
    if (!unit) return p.add(path, "journal: true needs the service's systemd unit (reload: {systemd: UNIT} or a unit: target); or name one: journal: NAME.service");
    return unit;
  }
  if (typeof v === "string") return unitName(v, path, p);
  return p.add(path, `must be true (the service's own unit) or a unit name, got ${JSON.stringify(v)}`);
}

function parseRejectMarkers(v: unknown, path: Path, unit: string | undefined, p: Problems): ServiceConfig["rejectMarkers"] {
  const r = record(v, path, p);
  if (!r) return undefined;
  noUnknownKeys(r, ["log", "journal", "pattern"], path, p);
  const pattern = regex(r.pattern, [...path, "pattern"], p);
  if (r.log !== undefined && r.journal !== undefined) return p.add([...path, "journal"], "conflicts with log: read rejection lines from one place");
  if (r.journal !== undefined) {
    const u = journalUnit(r.journal, [...path, "journal"], unit, p);
    return u && pattern ? { source: "journal", unit: u, pattern } : undefined;
  }
  if (r.log === undefined) return p.add(path, "must name where rejection lines appear: log: FILE or journal: true");
  const log = absolutePath(r.log, [...path, "log"], p);
  return log && pattern ? { source: "log", log, pattern } : undefined;
}

function parseExpect(v: unknown, path: Path, p: Problems): ServiceConfig["expect"] {
  const e = record(v, path, p);
  if (!e) return undefined;
  noUnknownKeys(e, ["exe", "user"], path, p);
  if (e.exe === undefined && e.user === undefined) return p.add(path, "declares nothing: give exe: /usr/sbin/DAEMON and/or user: NAME");
  const exe = e.exe === undefined ? undefined : absolutePath(e.exe, [...path, "exe"], p);
  const user = e.user === undefined ? undefined : typeof e.user === "number" && Number.isInteger(e.user) && e.user >= 0 ? String(e.user) : string(e.user, [...path, "user"], p);
  return { exe, user };
}

function parseTarget(r: Record<string, unknown>, path: Path, p: Problems, required: boolean): MainTarget | undefined {
  const keys = ["pidfile", "process", "unit"].filter((k) => r[k] !== undefined);
  if (keys.length > 1) return p.add([...path, keys[1]!], `conflicts with ${keys[0]}: the main process is found one way only`);
  if (r.pidfile !== undefined) {
    const path2 = absolutePath(r.pidfile, [...path, "pidfile"], p);
    return path2 ? { kind: "pidfile", path: path2 } : undefined;
  }
  if (r.process !== undefined) {
    const match = string(r.process, [...path, "process"], p);
    return match ? { kind: "process", match } : undefined;
  }
  if (r.unit !== undefined) {
    const unit = unitName(r.unit, [...path, "unit"], p);
    return unit ? { kind: "unit", unit } : undefined;
  }
  if (required) p.add(path, "a signal needs its target: pidfile: PATH, process: \"COMMAND MATCH\" or unit: NAME.service");
  return undefined;
}

function unitName(v: unknown, path: Path, p: Problems): string | undefined {
  const s = string(v, path, p);
  if (s === undefined) return undefined;
  if (!/^[A-Za-z0-9:_.\\@-]+$/.test(s) || s.startsWith("-")) return p.add(path, `is not a systemd unit name, got ${JSON.stringify(s)}`);
  return s.includes(".") ? s : `${s}.service`;
}

function parseSignal(v: unknown, path: Path, p: Problems) {
  return oneOf(typeof v === "string" ? v.replace(/^SIG/, "") : v, RELOAD_SIGNALS, path, p);
}

function parseReload(v: unknown, path: Path, p: Problems): ReloadSpec | undefined {
  const r = record(v, path, p);
  if (!r) return undefined;
  const methods = ["systemd", "command", "supervisor", "docker"].filter((k) => r[k] !== undefined);
  if (methods.length > 1) return p.add([...path, methods[1]!], `conflicts with ${methods[0]}: declare one reload method`);
  const method = methods[0] ?? (r.signal !== undefined ? "signal" : undefined);
  switch (method) {
    case "systemd": {
      noUnknownKeys(r, ["systemd"], path, p);
      const unit = unitName(r.systemd, [...path, "systemd"], p);
      return unit ? { method: "systemd", unit } : undefined;
    }
    case "signal": {
      noUnknownKeys(r, ["signal", "pidfile", "process", "unit"], path, p);
      const signal = parseSignal(r.signal, [...path, "signal"], p);
      const target = parseTarget(r, path, p, true);
      return signal && target ? { method: "signal", signal, target } : undefined;
    }
    case "command": {
      noUnknownKeys(r, ["command", "pidfile", "process", "unit"], path, p);
      const cmd = argv(r.command, [...path, "command"], p);
      const target = parseTarget(r, path, p, false);
      return cmd ? { method: "command", argv: cmd, target } : undefined;
    }
    case "supervisor": {
      noUnknownKeys(r, ["supervisor", "signal", "config"], path, p);
      const program = string(r.supervisor, [...path, "supervisor"], p);
      if (program && !/^[A-Za-z0-9_.:-]+$/.test(program)) p.add([...path, "supervisor"], "must be a supervisor program name (letters, digits, _ . : -)");
      const signal = r.signal === undefined ? "HUP" : parseSignal(r.signal, [...path, "signal"], p);
      const config = r.config === undefined ? undefined : absolutePath(r.config, [...path, "config"], p);
      return program && signal ? { method: "supervisor", program, signal, config } : undefined;
    }
    case "docker": {
      noUnknownKeys(r, ["docker", "signal"], path, p);
      const container = string(r.docker, [...path, "docker"], p);
      if (container && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(container)) p.add([...path, "docker"], "must be a container name or id");
      const signal = r.signal === undefined ? "HUP" : parseSignal(r.signal, [...path, "signal"], p);
      return container && signal ? { method: "docker", container, signal } : undefined;
    }
    default:
      return p.add(path, "must declare one reload method: systemd: UNIT, signal: SIG with pidfile/process/unit, command: [argv], supervisor: PROGRAM or docker: CONTAINER");
  }
}

function parseGeneration(v: unknown, path: Path, unit: string | undefined, p: Problems): GenerationSpec | undefined {
  if (typeof v === "string") {
    const kind = oneOf(v, ["auto", "workers", "none"] as const, path, p);
    return kind ? { kind } : undefined;
  }
  const g = record(v, path, p);
  if (!g) return undefined;
  if (g.http !== undefined) {
    noUnknownKeys(g, ["http", "json"], path, p);
    const url = httpUrl(g.http, [...path, "http"], p);
    const json = g.json === undefined ? undefined : string(g.json, [...path, "json"], p);
    return url ? { kind: "http", url, json } : undefined;
  }
  if (g.log !== undefined) {
    noUnknownKeys(g, ["log", "marker"], path, p);
    const log = absolutePath(g.log, [...path, "log"], p);
    const marker = regex(g.marker, [...path, "marker"], p);
    return log && marker ? { kind: "log", path: log, marker } : undefined;
  }
  if (g.journal !== undefined) {
    noUnknownKeys(g, ["journal", "unit"], path, p);
    const marker = regex(g.journal, [...path, "journal"], p);
    const u = g.unit === undefined ? journalUnit(true, [...path, "journal"], unit, p) : unitName(g.unit, [...path, "unit"], p);
    return u && marker ? { kind: "journal", unit: u, marker } : undefined;
  }
  return p.add(path, "must be auto, workers, none, {http: URL, json: FIELD}, {log: FILE, marker: REGEX} or {journal: REGEX, unit: NAME}");
}

function httpUrl(v: unknown, path: Path, p: Problems): string | undefined {
  const s = string(v, path, p);
  if (s === undefined) return undefined;
  try {
    const u = new URL(s);
    if (u.protocol === "http:" || u.protocol === "https:") return s;
  } catch {
    // reported below
  }
  return p.add(path, `must be an http:// or https:// URL, got ${JSON.stringify(s)}`);
}

function parseProbe(v: unknown, path: Path, p: Problems): ProbeSpec | undefined {
  const h = record(v, path, p);
  if (!h) return undefined;
  const timeoutMs = h.timeout === undefined ? AGENT_DEFAULTS.probeTimeoutMs : duration(h.timeout, [...path, "timeout"], p, 60_000) ?? 0;
  if (h.http !== undefined) {
    noUnknownKeys(h, ["http", "status", "body", "timeout"], path, p);
    const url = httpUrl(h.http, [...path, "http"], p);
    const status = h.status === undefined ? 200 : int(h.status, [...path, "status"], p, 100, 599);
    const body = h.body === undefined ? undefined : regex(h.body, [...path, "body"], p);
    return url && status ? { kind: "http", url, status, body, timeoutMs } : undefined;
  }
  if (h.tcp !== undefined) {
    noUnknownKeys(h, ["tcp", "timeout"], path, p);
    const s = string(h.tcp, [...path, "tcp"], p);
    const m = s ? /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s) : null;
    if (s && (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)) return p.add([...path, "tcp"], `must be HOST:PORT, got ${JSON.stringify(s)}`);
    return m ? { kind: "tcp", host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]), timeoutMs } : undefined;
  }
  if (h.exec !== undefined) {
    noUnknownKeys(h, ["exec", "timeout"], path, p);
    const a = argv(h.exec, [...path, "exec"], p);
    return a ? { kind: "exec", argv: a, timeoutMs } : undefined;
  }
  return p.add(path, "must be one of {http: URL, status, body}, {tcp: HOST:PORT} or {exec: [argv]}");
}

/** A declared path is matched and opened as written: one spelling per file. */
const isNormalized = (file: string) => file !== "/" && !file.endsWith("/") && posix.normalize(file) === file;

function suggestion(file: string): string {
  const fixed = posix.normalize(file).replace(/(.)\/+$/, "$1");
  // '..' is never resolved for the operator: what it means depends on symlinks on the host.
  return file.split("/").includes("..") || fixed === "/" ? "" : ` (did you mean ${JSON.stringify(fixed)}?)`;
}

function parseConfigs(v: unknown, path: Path, p: Problems, host: HostFacts): ConfigFileSpec[] {
  if (!Array.isArray(v)) {
    p.add(path, "must be a list of {path, mode, owner}");
    return [];
  }
  const out: ConfigFileSpec[] = [];
  v.forEach((c, i) => {
    const cp = [...path, i];
    if (!isRecord(c)) return p.add(cp, "must be a mapping {path, mode, owner}");
    noUnknownKeys(c, ["path", "mode", "owner"], cp, p);
    const file = absolutePath(c.path, [...cp, "path"], p);
    const problem = file === undefined ? undefined : declaredFileProblem(file);
    if (problem) p.add([...cp, "path"], problem);
    else if (file && !isNormalized(file)) {
      p.add([...cp, "path"], `must be a normalized absolute path of a file (no '.' or '..' components, no '//', no trailing '/'), got ${JSON.stringify(file)}${suggestion(file)}`);
    }
    const mode = c.mode === undefined ? 0o644 : octalMode(c.mode, [...cp, "mode"], p) ?? 0o644;
    const owner = c.owner === undefined ? "root" : string(c.owner, [...cp, "owner"], p) ?? "root";
    const ids = resolveOwner(owner, host, [...cp, "owner"], p);
    if (file && !problem && isNormalized(file) && ids) out.push({ path: file, mode, owner, ...ids });
  });
  return out;
}

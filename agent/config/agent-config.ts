// The agent's compiled config: every default filled in, ready to use.

export const RELOAD_SIGNALS = ["HUP", "USR1", "USR2", "WINCH"] as const;
export type ReloadSignal = (typeof RELOAD_SIGNALS)[number];

/** How the main process of a service is found. */
export type MainTarget =
  | { kind: "pidfile"; path: string }
  | { kind: "process"; match: string }
  | { kind: "unit"; unit: string };

export type ReloadSpec =
  | { method: "signal"; signal: ReloadSignal; target: MainTarget }
  | { method: "systemd"; unit: string }
  | { method: "command"; argv: string[]; target?: MainTarget }
  | { method: "supervisor"; program: string; signal: ReloadSignal; config?: string }
  | { method: "docker"; container: string; signal: ReloadSignal };

export type GenerationSpec =
  | { kind: "auto" }
  | { kind: "workers" }
  | { kind: "none" }
  | { kind: "http"; url: string; json?: string }
  | { kind: "log"; path: string; marker: RegExp }
  /** A line of the unit's journal written after the signal. */
  | { kind: "journal"; unit: string; marker: RegExp };

/** Where a rejection line is looked for: a log file, or the unit's journal. */
export type RejectMarkerSpec = { source: "log"; log: string; pattern: RegExp } | { source: "journal"; unit: string; pattern: RegExp };

/** What the service's main process must be; a mismatch is refused before anything is sent. */
export interface ExpectSpec {
  /** Absolute path of the executable (/proc/PID/exe). */
  exe?: string;
  /** User name or numeric uid the process runs as (effective uid). */
  user?: string;
}

export type ProbeSpec =
  | { kind: "http"; url: string; status: number; body?: RegExp; timeoutMs: number }
  | { kind: "tcp"; host: string; port: number; timeoutMs: number }
  | { kind: "exec"; argv: string[]; timeoutMs: number };

export interface ConfigFileSpec {
  path: string;
  mode: number;
  /** As written: "user" or "user:group". */
  owner: string;
  /** Resolved when the config was read. */
  uid: number;
  gid: number;
}

export interface ServiceConfig {
  name: string;
  reload: ReloadSpec;
  check?: string[];
  generation: GenerationSpec;
  rejectMarkers?: RejectMarkerSpec;
  expect?: ExpectSpec;
  health: ProbeSpec[];
  configs: ConfigFileSpec[];
  allowRestart: boolean;
  /**
   * staged: check the staged set at its real paths in a private mount namespace ({path} = the first
   * declared config); without namespaces a single file as a staged copy ({path} = the copy).
   * live: swap every file in, check, restore all on failure.
   */
  checkMode: "staged" | "live";
  timeouts: {
    /** How long to wait for a new generation after the reload was sent. */
    generationMs: number;
    /** How long probes must stay green after the new generation appeared. */
    healthyForMs: number;
    /** Pause between probe rounds during the reload window. */
    probeIntervalMs: number;
    /** Limit for the check command and for reload commands. */
    commandMs: number;
  };
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** Authentication with everything it names already read: the token's digest, the TLS files' bytes. */
export type AgentAuth =
  | { mode: "insecure" }
  | { mode: "token"; tokenFile: string; tokenDigest: Buffer }
  | { mode: "tls"; cert: string; key: string; ca: string; allow?: Record<string, string[]>; material: TlsMaterial };

/** What `tls.allow` may restrict to certain client certificate names: the RPCs, and the metrics endpoint over HTTPS. */
export const TLS_ALLOW_KEYS = ["Describe", "Status", "Probe", "Reload", "PushConfig", "RollbackConfig", "DiffConfig", "Fence", "Metrics"] as const;

export interface AgentLimits {
  maxMessageBytes: number;
  maxConcurrentReloads: number;
  maxConfigBytes: number;
  mutationsPerSecond: number;
  /** Open connections in total and per source address. */
  maxConnections: number;
  maxConnectionsPerPeer: number;
  /** A connection must carry an authenticated call within this long, or it is closed. */
  handshakeTimeoutMs: number;
}

export interface AgentConfig {
  listen: string;
  /** Mode and group of a unix socket, set explicitly (the umask plays no part). */
  socket: { mode: number; group?: string; gid?: number };
  auth: AgentAuth;
  limits: AgentLimits;
  /** How long shutdown waits for in-flight work before interrupting it. */
  shutdownTimeoutMs: number;
  /** Where kept config versions live. */
  stateDir: string;
  /** How many versions of each config file to keep. */
  keepVersions: number;
  services: Map<string, ServiceConfig>;
  /** Prometheus metrics at http://LISTEN/metrics (loopback only), or https:// with `tls` (the agent's TLS files, tls.allow.Metrics); absent = off. */
  metrics?: { listen: string; tls: boolean };
}

export const AGENT_DEFAULTS = {
  listen: "0.0.0.0:7601",
  generationMs: 5000,
  healthyForMs: 500,
  probeIntervalMs: 100,
  commandMs: 30_000,
  probeTimeoutMs: 1000,
  maxMessageBytes: 4 * 1024 * 1024,
  maxConcurrentReloads: 4,
  maxConfigBytes: 1024 * 1024,
  mutationsPerSecond: 20,
  maxConnections: 512,
  maxConnectionsPerPeer: 64,
  handshakeTimeoutMs: 10_000,
  socketMode: 0o600,
  shutdownTimeoutMs: 60_000,
  stateDir: "/var/lib/fleet-agent",
  keepVersions: 5,
} as const;

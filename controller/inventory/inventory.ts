// The controller's compiled inventory (fleet.yaml): every default filled in.
import type { MetricsConfig, WebConfig } from "../observability/observability-config.js";
import type { WebhookEndpoint } from "../webhooks/webhook-config.js";
import type { RolloutPolicy } from "../rollout/rollout-policy.js";

/** A host of a group: its name (a list entry's name is its address), its agent's address, its template variables and labels. */
export interface InventoryHost {
  name: string;
  address: string;
  vars: Record<string, unknown>;
  labels: Record<string, string>;
}

export interface GroupConfig {
  name: string;
  service: string;
  /** Agent addresses (HOST:PORT or unix:/PATH), inventory order. */
  hosts: string[];
  /** The same hosts with their names, variables and labels, inventory order. */
  members: InventoryHost[];
  /** Group-level template variables (a host's own vars win). */
  vars: Record<string, unknown>;
  /** Canary agent addresses (the inventory may name them by host name or address). */
  canary: string[];
  policy: RolloutPolicy;
}

/** One file of a scheduled config set; a template is rendered per host. */
export interface ScheduleFile {
  source: string;
  path: string;
  template: boolean;
}

export interface ScheduleConfig {
  name: string;
  cron: string;
  group: string;
  /** The config set each run pushes (one entry for the single-file form). */
  files: ScheduleFile[];
  policy: import("../rollout/rollout-policy.js").PolicyText;
  /** What a run does when its group is busy: skip it (recorded) or wait for the group. */
  whenBusy: "skip" | "wait";
}

export interface TlsPaths {
  cert: string;
  key: string;
  ca: string;
}

export type AgentAccess = { mode: "insecure" } | { mode: "token"; tokenFile: string } | ({ mode: "tls" } & TlsPaths);

/** Who may do what on the controller. `read`: status, history, show, schedules, watch; `operate`: everything else. */
export type Role = "read" | "operate";

export interface ControllerSettings {
  listen: string;
  db: string;
  /** Unix `listen`: this group may connect (mode 0660) and gets both roles; without it root only (0600). */
  socketGroup?: string;
  /** A second unix socket that grants only the `read` role, connectable by `readGroup`. */
  readSocket?: string;
  readGroup?: string;
  /** TCP `listen`: the server certificate and the CA operators' client certificates must chain to (default: the top-level tls). */
  tls?: TlsPaths;
  /** TCP `listen`: certificate names (CN) per role; `operate` includes `read`. */
  operators: Record<Role, string[]>;
}

/** A credential file read and checked with the inventory; its digest detects a file replaced later. */
export interface CredentialFile {
  /** The inventory field naming it, e.g. agents.token_file. */
  field: string;
  file: string;
  bytes: Buffer;
  sha256: string;
}

export type TlsFiles = Record<keyof TlsPaths, CredentialFile>;

export interface Credentials {
  agents: { mode: "insecure" } | { mode: "token"; token: CredentialFile } | { mode: "tls"; tls: TlsFiles };
  /** The controller's own TCP listener. */
  listener?: TlsFiles;
  /** metrics.tls and web.tls, when configured. */
  metrics?: TlsFiles;
  web?: TlsFiles;
}

export interface Inventory {
  controller: ControllerSettings;
  agents: { access: AgentAccess; deadlineMs: number; reloadDeadlineMs: number };
  groups: Map<string, GroupConfig>;
  schedules: ScheduleConfig[];
  /** Opt-in Prometheus metrics and web view (loopback only, unless they have tls); absent = off. */
  metrics?: MetricsConfig;
  web?: WebConfig;
  webhooks?: WebhookEndpoint[];
  /** Streams the history database to a replica with Litestream; absent = off. */
  replicate?: import("../replication/replicate-config.js").ReplicateConfig;
  /** Resolved by readInventory: a missing or unreadable credential is a config problem, not a failure mid-rollout. */
  credentials: Credentials;
}

/** What the pure parser produces; reading the credential files completes it. */
export type ParsedInventory = Omit<Inventory, "credentials">;

export const INVENTORY_DEFAULTS = {
  listen: "unix:/run/fleet/controller.sock",
  db: "/var/lib/fleet/history.db",
  deadlineMs: 5000,
  reloadDeadlineMs: 60_000,
} as const;

// The controller's compiled inventory (fleet.yaml): every default filled in.
import type { MetricsConfig, WebConfig } from "../observability/observability-config.js";
import type { WebhookEndpoint } from "../webhooks/webhook-config.js";
import type { RolloutPolicy } from "../rollout/rollout-policy.js";

export interface GroupConfig {
  name: string;
  service: string;
  /** Agent addresses (HOST:PORT or unix:/PATH), inventory order. */
  hosts: string[];
  canary: string[];
  policy: RolloutPolicy;
}

export interface ScheduleConfig {
  name: string;
  cron: string;
  group: string;
  source: string;
  path: string;
  policy: import("../rollout/rollout-policy.js").PolicyText;
  /** What a run does when its group is busy: skip it (recorded) or wait for the group. */
  whenBusy: "skip" | "wait";
}

export type AgentAccess =
  | { mode: "insecure" }
  | { mode: "token"; tokenFile: string }
  | { mode: "tls"; cert: string; key: string; ca: string };

export interface Inventory {
  controller: { listen: string; db: string; socketGroup?: string };
  agents: { access: AgentAccess; deadlineMs: number; reloadDeadlineMs: number };
  groups: Map<string, GroupConfig>;
  schedules: ScheduleConfig[];
  /** Opt-in Prometheus metrics and web view (loopback only); absent = off. */
  metrics?: MetricsConfig;
  web?: WebConfig;
  webhooks?: WebhookEndpoint[];
}

export const INVENTORY_DEFAULTS = {
  listen: "unix:/run/fleet/controller.sock",
  db: "/var/lib/fleet/history.db",
  deadlineMs: 5000,
  reloadDeadlineMs: 60_000,
} as const;

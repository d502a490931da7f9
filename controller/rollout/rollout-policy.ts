// Rollout policy as operators write it ("1", "25%", "1,5,20%", "30s") and as
// the planner uses it. Parsing is pure and names the field at fault.
import { parseDuration } from "../../common/duration.js";

/** A host count: absolute, or a percentage of the hosts in the rollout. */
export type CountSpec = { kind: "count"; n: number } | { kind: "percent"; pct: number };

export interface RolloutPolicy {
  canary: CountSpec;
  /** Batch sizes in order; the last entry repeats. */
  batch: CountSpec[];
  maxFailures: CountSpec;
  bakeMs: number;
  pauseMs: number;
  /** Count `unverified` reloads (delivered, no generation evidence) as success. */
  acceptUnverified: boolean;
  /** Wait for `fleet promote` after the canary batch and its bake. */
  approve: boolean;
}

export interface PolicyText {
  canary?: string;
  batch?: string;
  max_failures?: string;
  bake?: string;
  pause?: string;
  accept_unverified?: string;
  approve?: string;
}

/** The policy keys of the inventory (a group's and a schedule's `policy`). */
export const POLICY_KEYS = ["canary", "batch", "max_failures", "bake", "pause", "accept_unverified", "approve"] as const;

export const DEFAULT_POLICY: RolloutPolicy = {
  canary: { kind: "count", n: 1 },
  batch: [{ kind: "percent", pct: 25 }],
  maxFailures: { kind: "count", n: 0 },
  bakeMs: 0,
  pauseMs: 0,
  acceptUnverified: false,
  approve: false,
};

export function parseCount(text: string): CountSpec | undefined {
  const m = /^\s*(\d{1,7})(%?)\s*$/.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]);
  if (m[2]) return v <= 100 ? { kind: "percent", pct: v } : undefined;
  return { kind: "count", n: v };
}

export function formatCount(c: CountSpec): string {
  return c.kind === "count" ? String(c.n) : `${c.pct}%`;
}

/**
 * Resolves a count against the hosts in the rollout. A percentage rounds down
 * (like Ansible's `serial`) but a non-zero percentage never gives fewer than 1.
 */
export function resolveCount(c: CountSpec, total: number): number {
  if (c.kind === "count") return c.n;
  if (c.pct === 0) return 0;
  return Math.max(1, Math.floor((c.pct * total) / 100));
}

/** Applies overrides on top of a base policy; every bad field is reported. */
export function applyPolicyText(base: RolloutPolicy, text: PolicyText, where: (field: keyof PolicyText) => string): { policy: RolloutPolicy; problems: string[] } {
  const problems: string[] = [];
  const policy: RolloutPolicy = { ...base, batch: [...base.batch] };
  if (text.canary !== undefined) {
    const c = parseCount(String(text.canary));
    if (c) policy.canary = c;
    else problems.push(`${where("canary")}: must be N or N% (0 = no canary phase), got ${JSON.stringify(text.canary)}`);
  }
  if (text.batch !== undefined) {
    const parts = String(text.batch).split(",");
    const specs = parts.map(parseCount);
    if (specs.length && specs.every((s): s is CountSpec => s !== undefined && !(s.kind === "count" && s.n === 0) && !(s.kind === "percent" && s.pct === 0))) policy.batch = specs;
    else problems.push(`${where("batch")}: must be N, N% or a list like 1,5,20% (each entry at least 1), got ${JSON.stringify(text.batch)}`);
  }
  if (text.max_failures !== undefined) {
    const c = parseCount(String(text.max_failures));
    if (c) policy.maxFailures = c;
    else problems.push(`${where("max_failures")}: must be N or N%, got ${JSON.stringify(text.max_failures)}`);
  }
  for (const [key, field] of [["bake", "bakeMs"], ["pause", "pauseMs"]] as const) {
    if (text[key] === undefined) continue;
    const d = parseDuration(String(text[key]));
    if (!d.ok) problems.push(`${where(key)}: ${d.problem}`);
    else if (d.ms > 24 * 3_600_000) problems.push(`${where(key)}: must be at most 24h, got ${JSON.stringify(text[key])}`);
    else policy[field] = d.ms;
  }
  for (const [key, field] of [["accept_unverified", "acceptUnverified"], ["approve", "approve"]] as const) {
    if (text[key] === undefined) continue;
    const v = String(text[key]);
    if (v === "true" || v === "false") policy[field] = v === "true";
    else problems.push(`${where(key)}: must be true or false, got ${JSON.stringify(text[key])}`);
  }
  return { policy, problems };
}

export function describePolicy(p: RolloutPolicy): string {
  return `canary ${formatCount(p.canary)}, batch ${p.batch.map(formatCount).join(",")}, max failures ${formatCount(p.maxFailures)}, bake ${p.bakeMs}ms, pause ${p.pauseMs}ms${p.acceptUnverified ? ", unverified reloads accepted" : ""}${p.approve ? ", approval after the canary" : ""}`;
}

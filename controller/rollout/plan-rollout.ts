// The pure planner: hosts + policy -> ordered batches, canaries first.
import { resolveCount, type RolloutPolicy } from "./rollout-policy.js";

export interface PlannedBatch {
  index: number;
  canary: boolean;
  hosts: string[];
}

export interface RolloutPlan {
  batches: PlannedBatch[];
  canaryCount: number;
  maxFailures: number;
  total: number;
}

/**
 * `hosts` in inventory order; `preferredCanaries` are taken first (in their
 * order, if they are in the rollout), then hosts from the front of the list.
 */
export function planRollout(hosts: string[], preferredCanaries: string[], policy: RolloutPolicy): RolloutPlan {
  const total = hosts.length;
  const canaryCount = Math.min(resolveCount(policy.canary, total), total);
  const inRollout = new Set(hosts);
  const canaries = [...new Set(preferredCanaries.filter((h) => inRollout.has(h)))].slice(0, canaryCount);
  const chosen = new Set(canaries);
  for (const h of hosts) {
    if (chosen.size >= canaryCount) break;
    if (!chosen.has(h)) {
      chosen.add(h);
      canaries.push(h);
    }
  }
  const rest = hosts.filter((h) => !chosen.has(h));
  const batches: PlannedBatch[] = [];
  // The canaries form the first batch; nothing else is touched until they pass.
  if (canaries.length) batches.push({ index: 0, canary: true, hosts: canaries });
  let i = 0;
  let step = 0;
  while (i < rest.length) {
    const spec = policy.batch[Math.min(step, policy.batch.length - 1)]!;
    const size = Math.max(1, resolveCount(spec, total));
    batches.push({ index: batches.length, canary: false, hosts: rest.slice(i, i + size) });
    i += size;
    step++;
  }
  return { batches, canaryCount: canaries.length, maxFailures: resolveCount(policy.maxFailures, total), total };
}

/** The halting rule: halt when failures exceed the allowance; any canary failure halts. */
export function shouldHalt(failures: number, maxFailures: number, canaryFailed: boolean): boolean {
  return canaryFailed || failures > maxFailures;
}

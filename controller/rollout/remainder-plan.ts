// What a resume does with the hosts that remain: their batches as recorded,
// or cut anew when the operator gives --batch, and the bake and pause it gives.
// Pure: steps and settings in, the new settings, batch numbers and words out.
import { plural } from "../../common/plural.js";
import type { StepRecord } from "../history/history-store.js";
import type { PlannedBatch } from "./plan-rollout.js";
import type { RolloutSettings } from "./rollout-executor.js";
import { formatCount, resolveCount, type CountSpec } from "./rollout-policy.js";

export interface RemainderOverrides {
  batch?: CountSpec[];
  bakeMs?: number;
  pauseMs?: number;
}

export interface Remainder {
  settings: RolloutSettings;
  /** Every step's batch after the resume (unchanged for steps done and canaries). */
  batchOf: Map<string, number>;
  /** The batches that still have hosts to do, in order, with only those hosts. */
  batches: PlannedBatch[];
  hostsLeft: number;
  /** What changed, for the record; "" when nothing did. */
  note: string;
}

export function planRemainder(steps: StepRecord[], settings: RolloutSettings, o: RemainderOverrides): Remainder {
  const batchOf = new Map(steps.map((s) => [s.host, s.batch]));
  const left = steps.filter((s) => s.status !== "done");
  if (o.batch && o.batch.length) rebatch(steps, left, o.batch, batchOf);
  const changed: string[] = [];
  if (o.batch?.length) changed.push(`batch ${o.batch.map(formatCount).join(",")}`);
  if (o.bakeMs !== undefined) changed.push(`bake ${o.bakeMs}ms`);
  if (o.pauseMs !== undefined) changed.push(`pause ${o.pauseMs}ms`);
  const next: RolloutSettings = {
    ...settings,
    bakeMs: o.bakeMs ?? settings.bakeMs,
    pauseMs: o.pauseMs ?? settings.pauseMs,
    policyText: changed.length ? `${settings.policyText.replace(/; remainder: .*$/, "")}; remainder: ${changed.join(", ")}` : settings.policyText,
  };
  const batches = remainingBatches(left, batchOf);
  const note = changed.length ? `resumed with ${changed.join(", ")} for the ${plural(left.length, "remaining host")}` : "";
  return { settings: next, batchOf, batches, hostsLeft: left.length, note };
}

/** Hosts past the canaries that are not done get new batches, after every batch that has a done host or a canary. */
function rebatch(steps: StepRecord[], left: StepRecord[], sizes: CountSpec[], batchOf: Map<string, number>): void {
  const movable = left.filter((s) => !s.canary);
  const kept = steps.filter((s) => !movable.includes(s));
  let index = kept.length ? Math.max(...kept.map((s) => s.batch)) + 1 : 0;
  let i = 0;
  for (let step = 0; i < movable.length; step++) {
    const size = Math.max(1, resolveCount(sizes[Math.min(step, sizes.length - 1)]!, steps.length));
    for (const s of movable.slice(i, i + size)) batchOf.set(s.host, index);
    i += size;
    index++;
  }
}

function remainingBatches(left: StepRecord[], batchOf: Map<string, number>): PlannedBatch[] {
  const byIndex = new Map<number, PlannedBatch>();
  for (const s of [...left].sort((a, b) => a.position - b.position)) {
    const index = batchOf.get(s.host)!;
    const b = byIndex.get(index) ?? { index, canary: false, hosts: [] };
    b.canary ||= s.canary;
    b.hosts.push(s.host);
    byIndex.set(index, b);
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

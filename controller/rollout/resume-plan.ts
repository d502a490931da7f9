// What `fleet resume` does with a rollout, derived only from what the history
// recorded about it: its kind, its own settings, its steps and its linked
// rollback entries. Pure: no agent, no database.
import { stateSentence } from "../../common/plural.js";
import type { RolloutRecord, StepRecord, StepResult } from "../history/history-store.js";
import type { RolloutSettings } from "./rollout-executor.js";

export interface RecordedRollout {
  rollout: RolloutRecord;
  steps: StepRecord[];
  /** Linked entries (rollbacks of a config rollout) with their steps. */
  linked: { rollout: RolloutRecord; steps: StepRecord[] }[];
  /** Whether the history still holds the content a config rollout pushes. */
  configKept: boolean;
}

export type ResumePlan =
  | {
      ok: true;
      settings: RolloutSettings;
      /** Steps whose end is known from the record without asking an agent. */
      settled: { host: string; result: StepResult }[];
      /** Steps that were running when the rollout stopped: asked again with the same request id. */
      inDoubt: string[];
    }
  | { ok: false; why: string };

const RESTORE_POLICY = "restore each host's previous version";

export function planResume(rec: RecordedRollout): ResumePlan {
  const { rollout: r } = rec;
  const refused = (why: string): ResumePlan => ({ ok: false, why: `rollout ${r.id} cannot be resumed: ${why}` });
  if (r.state === "running") return refused(`it is running (fleet abort ${r.id} stops it)`);
  if (r.state === "succeeded" || r.state === "failed") return refused(`it already ended ${r.state}; start a new rollout instead`);
  const inDoubt = rec.steps.filter((s) => s.status === "running").map((s) => s.host);

  if (r.kind === "rollback") {
    // Re-derived from the entry itself, never from its parent's settings: a restore stays a restore.
    const missing = rec.steps.filter((s) => s.status !== "done" && !s.targetSha256 && s.files.length === 0);
    if (missing.length) return refused(`it restores ${missing.map((s) => s.host).join(", ")} but the history has no recorded version to restore (written by an older controller); restore by hand with fleet rollout`);
    if (!r.configPath) return refused("it has no recorded config path");
    const settings: RolloutSettings = { kind: "rollback", service: r.service, configPath: r.configPath, maxFailures: 0, bakeMs: 0, pauseMs: 0, allowRestart: r.allowRestart, policyText: RESTORE_POLICY };
    return { ok: true, settings, settled: [], inDoubt };
  }

  const settings = recordedSettings(r);
  if (!settings) return refused(`its recorded settings are not a ${r.kind} rollout's`);
  if (r.kind === "reload") return { ok: true, settings, settled: [], inDoubt };

  if (!rec.configKept) return refused(`the config it pushes (sha256 ${r.configSha256.slice(0, 12)}) is no longer in the history`);
  const unfinished = rec.linked.find((l) => l.rollout.kind === "rollback" && l.rollout.state !== "succeeded" && l.rollout.state !== "failed");
  if (unfinished) return refused(`its restore, rollout ${unfinished.rollout.id}, ${stateSentence(unfinished.rollout.state)}: fleet resume ${unfinished.rollout.id} first (it puts the previous files back), then fleet resume ${r.id}`);
  return { ok: true, settings, settled: settledByRestores(rec), inDoubt };
}

/** The rollout's own recorded settings, checked against its kind. */
function recordedSettings(r: RolloutRecord): RolloutSettings | undefined {
  let s: Partial<RolloutSettings>;
  try {
    s = JSON.parse(r.policy) as Partial<RolloutSettings>;
  } catch {
    return undefined;
  }
  if (s.kind !== r.kind || typeof s.maxFailures !== "number" || typeof s.bakeMs !== "number" || typeof s.pauseMs !== "number") return undefined;
  if (r.kind === "config" && (!s.configPath || !s.configSha256)) return undefined;
  return { ...(s as RolloutSettings), service: r.service, allowRestart: r.allowRestart };
}

/**
 * A host not done whose restore is recorded took the new file and failed
 * (that is the only reason the controller restores during a rollout): it is
 * settled as failed and never pushed again.
 */
function settledByRestores(rec: RecordedRollout): { host: string; result: StepResult }[] {
  const restoredBy = new Map<string, number>();
  for (const l of rec.linked) for (const s of l.steps) if (l.rollout.kind === "rollback" && s.status === "done") restoredBy.set(s.host, l.rollout.id);
  return rec.steps
    .filter((s) => s.status !== "done" && restoredBy.has(s.host))
    .map((s) => ({
      host: s.host,
      result: {
        outcome: "failed",
        ok: false,
        reason: `its push failed before the interruption and rollout ${restoredBy.get(s.host)} restored its previous file; not pushed again`,
        evidence: "",
        probesSent: 0,
        probesFailed: 0,
        probesRefused: 0,
      },
    }));
}

// Outcome enum <-> the lowercase words operators and scripts read.
import { Outcome } from "../proto/gen/fleet/agent/v1/agent.js";

export const OUTCOME_WORDS = ["reloaded", "restarted", "rejected", "unhealthy", "not_running", "refused", "failed", "unverified"] as const;
export type OutcomeWord = (typeof OUTCOME_WORDS)[number];

export function outcomeToWord(o: Outcome): OutcomeWord | "unspecified" {
  const name = Outcome[o];
  if (!name || o === Outcome.OUTCOME_UNSPECIFIED) return "unspecified";
  return name.replace(/^OUTCOME_/, "").toLowerCase() as OutcomeWord;
}

export function wordToOutcome(word: OutcomeWord): Outcome {
  return Outcome[`OUTCOME_${word.toUpperCase()}` as keyof typeof Outcome] as Outcome;
}

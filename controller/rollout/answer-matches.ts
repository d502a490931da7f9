// An agent's "ok" counts only for what the controller asked: every file it
// names must be one asked for, now with the asked content (a restore's empty
// hash: removed), and every file asked for must be named.
import type { StepResult } from "../history/history-store.js";

/** The result as is when it matches `asked` (or already failed); else a failure saying why. */
export function answerMatches<R extends StepResult>(result: R, asked: { path: string; sha256: string }[], what: "pushed" | "asked to restore"): R {
  if (!result.ok) return result;
  const wanted = new Map(asked.map((f) => [f.path, f.sha256]));
  const files = result.files ?? [];
  const wrong = files.filter((f) => wanted.get(f.path) !== f.new).map((f) => f.path);
  if (!wrong.length && files.length === asked.length) return result;
  const detail = wrong.length ? `${wrong.join(", ")} (not the ${what === "pushed" ? "pushed" : "requested"} content, or not ${what === "pushed" ? "pushed" : "asked for"} at all)` : `${files.length} of ${asked.length} files`;
  const recorded = what === "pushed" ? "installed" : "restored";
  return { ...result, ok: false, outcome: "failed", reason: `the agent's answer does not match what was ${what}: ${detail}; not recorded as ${recorded}` };
}

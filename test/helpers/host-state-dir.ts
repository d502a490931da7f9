// The agent's default state_dir (/var/lib/fleet-agent) on the machine running
// the tests, before and after: tests give every agent a state_dir of their own,
// and a run that still writes here is leaking (and fills the real agent's list
// of remembered controllers). Compared before/after, so an agent genuinely
// installed on the machine is no failure by itself.
import { lstatSync, readdirSync } from "node:fs";
import path from "node:path";
import { AGENT_DEFAULTS } from "../../agent/config/agent-config.js";

export const HOST_STATE_DIR = AGENT_DEFAULTS.stateDir;
/** A real agent's state_dir is small; this bounds the walk of a strange one. */
const MAX_ENTRIES = 20_000;

/** Path -> what would change if something wrote it (type, inode, size, mtime); absent: no entry. */
export type StateDirSnapshot = Map<string, string>;

export function snapshotStateDir(root: string = HOST_STATE_DIR): StateDirSnapshot {
  const seen: StateDirSnapshot = new Map();
  const visit = (p: string): void => {
    if (seen.size >= MAX_ENTRIES) return;
    let st;
    try {
      st = lstatSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") seen.set(p, `unreadable (${code})`);
      return;
    }
    const kind = st.isDirectory() ? "dir" : st.isFile() ? "file" : st.isSymbolicLink() ? "symlink" : "other";
    seen.set(p, `${kind} ino ${st.ino} size ${st.size} mtime ${st.mtimeMs}`);
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = readdirSync(p);
    } catch (err) {
      seen.set(p + "/", `unlistable (${(err as NodeJS.ErrnoException).code})`);
      return;
    }
    for (const name of names.sort()) visit(path.join(p, name));
  };
  visit(root);
  return seen;
}

/** One line per path created, changed or removed between the two snapshots (empty: untouched). */
export function stateDirChanges(before: StateDirSnapshot, after: StateDirSnapshot): string[] {
  const lines: string[] = [];
  for (const [p, sig] of after) {
    const was = before.get(p);
    if (was === undefined) lines.push(`created ${p}`);
    else if (was !== sig) lines.push(`modified ${p}`);
  }
  for (const p of before.keys()) if (!after.has(p)) lines.push(`removed ${p}`);
  return lines;
}

/** The failure text: what changed (at most 20 lines) and where the fix goes. */
export function describeLeak(who: string, changes: string[]): string {
  const shown = changes.slice(0, 20).map((l) => `  ${l}`);
  if (changes.length > shown.length) shown.push(`  ... and ${changes.length - shown.length} more`);
  return [
    `${who} wrote to the agent's default state_dir ${HOST_STATE_DIR} on this machine:`,
    ...shown,
    `Every agent a test or benchmark starts needs a state_dir in its own scratch directory (test/helpers/agent-harness.ts gives in-process agents one; YAML written by a test needs the line).`,
    `Clean up what the run added there (controller identities pile up in controller-epochs.json; at 64 the agent refuses new controllers).`,
    `If a real agent on this machine wrote there during the run, rerun with FLEET_TEST_STATE_GUARD=off.`,
  ].join("\n");
}

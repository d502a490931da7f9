// The per-host diff text of --dry-run and the prompt's summary.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDiffPrompt, formatDiffs } from "../../cli/output/diff-output.js";
import type { HostDiff } from "../../proto/gen/fleet/controller/v1/controller.js";

const file = (path: string, diff: string, added: number, removed: number) => ({ path, liveExists: true, liveSha256: diff ? "a" : "b", newSha256: "b", unifiedDiff: diff, truncated: false, addedLines: added, removedLines: removed, binary: false });
const DIFFS: HostDiff[] = [
  { host: "web1", address: "10.0.0.1:7601", error: "", files: [file("/etc/a", "", 0, 0), file("/etc/b", "", 0, 0)] },
  { host: "web2", address: "10.0.0.2:7601", error: "", files: [file("/etc/a", "--- /etc/a\n+++ /etc/a\n@@ -1 +1 @@\n-x\n+y\n", 1, 1), file("/etc/b", "", 0, 0)] },
  { host: "10.0.0.3:7601", address: "10.0.0.3:7601", error: "DiffConfig on 10.0.0.3:7601: unreachable: connect ECONNREFUSED", files: [] },
];

test("the prompt: one line per host with +/- counts, then the first host that changes anything", () => {
  assert.deepEqual(formatDiffPrompt(DIFFS), [
    "changes per host:",
    "  web1 (10.0.0.1:7601): /etc/a unchanged, /etc/b unchanged",
    "  web2 (10.0.0.2:7601): /etc/a +1 -1, /etc/b unchanged",
    "  10.0.0.3:7601: no diff: DiffConfig on 10.0.0.3:7601: unreachable: connect ECONNREFUSED",
    "first diff (web2):",
    "--- /etc/a",
    "+++ /etc/a",
    "@@ -1 +1 @@",
    "-x",
    "+y",
  ]);
});

test("--dry-run: every host's diff under its name", () => {
  assert.deepEqual(formatDiffs(DIFFS), [
    "=== web1 (10.0.0.1:7601)",
    "no change: every file already matches",
    "=== web2 (10.0.0.2:7601)",
    "--- /etc/a",
    "+++ /etc/a",
    "@@ -1 +1 @@",
    "-x",
    "+y",
    "=== 10.0.0.3:7601",
    "no diff: DiffConfig on 10.0.0.3:7601: unreachable: connect ECONNREFUSED",
  ]);
});

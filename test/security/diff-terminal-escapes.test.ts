// Diffs, reasons and errors printed to an operator's terminal come from agents, templates and
// config files: their control characters (ESC sequences) are shown as \xNN, never obeyed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatAppliedDiffs } from "../../cli/output/applied-diff-output.js";
import { formatDiffPrompt, formatDiffs, formatDiffSummary } from "../../cli/output/diff-output.js";
import type { HostDiff, ShowResponse } from "../../proto/gen/fleet/controller/v1/controller.js";

const HOSTILE = "--- a/etc/x.conf\n+++ b/etc/x.conf\n@@ -1 +1 @@\n-a\n+evil\x1b[1A\x1b[2K\x1b[2J\x1b]52;c;cm0gLXJmIH4K\x07\x1b]0;ok\x07\n";
const ESC = /[\x00-\x08\x0b-\x1f\x7f\x9b]/;

const diff: HostDiff = {
  host: "web1",
  address: "127.0.0.1:7601",
  error: "agent says \x1b[2Jall good",
  files: [{ path: "/etc/x.conf", liveExists: true, liveSha256: "a", newSha256: "b", unifiedDiff: HOSTILE, addedLines: 1, removedLines: 1, truncated: false, binary: false } as HostDiff["files"][number]],
};

test("--dry-run diff output carries no terminal control characters from the agent or the files", () => {
  const out = formatDiffs([{ ...diff, error: "" }]).join("\n");
  assert.doesNotMatch(out, ESC, `raw control characters printed: ${JSON.stringify(out)}`);
});

test("the confirmation prompt's first diff and summary carry no terminal control characters", () => {
  const out = [...formatDiffPrompt([{ ...diff, error: "" }]), ...formatDiffSummary([diff])].join("\n");
  assert.doesNotMatch(out, ESC, `raw control characters printed: ${JSON.stringify(out)}`);
});

test("fleet show --diff (recorded steps.diff) carries no terminal control characters", () => {
  const show = { steps: [{ host: "web1", address: "127.0.0.1:7601", outcome: "reloaded", status: "done", files: [], diff: HOSTILE }] } as unknown as ShowResponse;
  const out = formatAppliedDiffs(show).join("\n");
  assert.doesNotMatch(out, ESC, `raw control characters printed: ${JSON.stringify(out)}`);
});

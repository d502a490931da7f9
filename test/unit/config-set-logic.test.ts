// Pure pieces of config sets: the namespace mount plan, the unified diff
// (checked against GNU diff -u where it is installed), and request shapes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { FleetError } from "../../common/errors.js";
import { planNamespaceMounts } from "../../agent/configs/namespace-mounts.js";
import { unifiedDiff } from "../../agent/configs/unified-diff.js";
import { diffedFiles, pushedFiles, restoredFiles } from "../../agent/server/config-requests.js";
import { DiffConfigRequest, PushConfigRequest, RollbackConfigRequest } from "../../proto/gen/fleet/agent/v1/agent.js";

describe("namespace mount plan", () => {
  test("changed existing files are bind-mounted over their live paths; no tmpfs needed", () => {
    const ops = planNamespaceMounts(
      [
        { live: "/etc/nginx/nginx.conf", liveExists: true, staged: "/etc/nginx/.nginx.conf.fleet-staged-1", stagedId: "8:1" },
        { live: "/etc/nginx/sites/a.conf", liveExists: true, staged: "/etc/nginx/sites/.a.conf.fleet-staged-2", stagedId: "8:2" },
      ],
      "/var/lib/fleet-agent/check-namespace",
    );
    assert.deepEqual(ops, ["bind", "/etc/nginx/.nginx.conf.fleet-staged-1", "/etc/nginx/nginx.conf", "8:1", "bind", "/etc/nginx/sites/.a.conf.fleet-staged-2", "/etc/nginx/sites/a.conf", "8:2"]);
  });

  test("new and removed files: one overlay per directory on a tmpfs, parents first, placeholders and whiteouts in its upper layer, binds last", () => {
    const s = "/state/ns";
    const ops = planNamespaceMounts(
      [
        { live: "/etc/app/conf.d/new.conf", liveExists: false, staged: "/etc/app/conf.d/.new.conf.fleet-staged-1", stagedId: "8:1" },
        { live: "/etc/app/old.conf", liveExists: true },
        { live: "/etc/app/main.conf", liveExists: true, staged: "/etc/app/.main.conf.fleet-staged-2", stagedId: "8:2" },
        { live: "/etc/app/gone.conf", liveExists: false },
      ],
      s,
    );
    assert.deepEqual(ops, [
      "tmpfs", s,
      "mkdir", `${s}/0`, "mkdir", `${s}/0/u`, "mkdir", `${s}/0/w`, "whiteout", `${s}/0/u/old.conf`, "overlay", "/etc/app", `${s}/0/u`, `${s}/0/w`,
      "mkdir", `${s}/1`, "mkdir", `${s}/1/u`, "mkdir", `${s}/1/w`, "touch", `${s}/1/u/new.conf`, "overlay", "/etc/app/conf.d", `${s}/1/u`, `${s}/1/w`,
      "bind", "/etc/app/conf.d/.new.conf.fleet-staged-1", "/etc/app/conf.d/new.conf", "8:1",
      "bind", "/etc/app/.main.conf.fleet-staged-2", "/etc/app/main.conf", "8:2",
    ]);
  });

  test("a directory overlayfs options cannot name is refused with the way out", () => {
    assert.throws(
      () => planNamespaceMounts([{ live: "/etc/a,b/new.conf", liveExists: false, staged: "/etc/a,b/.new.conf.fleet-staged-1" }], "/state/ns"),
      (e: FleetError) => e.kind === "failed_precondition" && /\/etc\/a,b contains a comma.*use check_mode: live/.test(e.message),
    );
  });
});

describe("unified diff", () => {
  const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i + 1) + "\n").join("");

  test("a known change: exact text, counts, two hunks with 3 lines of context", async () => {
    const live = lines(20, (i) => `line ${i}`);
    const proposed = live.replace("line 2\n", "line two\n").replace("line 18\n", "line eighteen\n");
    const d = await unifiedDiff("/etc/app.conf", Buffer.from(live), Buffer.from(proposed));
    assert.equal(
      d.text,
      [
        "--- /etc/app.conf\tlive",
        "+++ /etc/app.conf\tproposed",
        "@@ -1,5 +1,5 @@",
        " line 1",
        "-line 2",
        "+line two",
        " line 3",
        " line 4",
        " line 5",
        "@@ -15,6 +15,6 @@",
        " line 15",
        " line 16",
        " line 17",
        "-line 18",
        "+line eighteen",
        " line 19",
        " line 20",
        "",
      ].join("\n"),
    );
    assert.deepEqual([d.addedLines, d.removedLines, d.truncated, d.binary], [2, 2, false, false]);
  });

  test("the hunks agree with GNU diff -u", { skip: existsSync("/usr/bin/diff") ? undefined : "/usr/bin/diff not installed" }, async () => {
    const live = lines(300, (i) => `server_${i % 17} weight=${i % 5};`);
    const proposed = lines(310, (i) => (i % 23 === 0 ? `# changed ${i}` : `server_${i % 17} weight=${i % 5};`));
    const dir = mkdtempSync(path.join(os.tmpdir(), "fleet-13a-diff-"));
    try {
      writeFileSync(path.join(dir, "a"), live);
      writeFileSync(path.join(dir, "b"), proposed);
      const gnu = spawnSync("/usr/bin/diff", ["-u", path.join(dir, "a"), path.join(dir, "b")], { encoding: "utf8", timeout: 10_000 }).stdout;
      const ours = (await unifiedDiff("/x", Buffer.from(live), Buffer.from(proposed))).text;
      const hunks = (t: string) => t.split("\n").slice(2).join("\n");
      assert.equal(hunks(ours), hunks(gnu));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a new file diffs against /dev/null; equal content gives no diff", async () => {
    const d = await unifiedDiff("/etc/new.conf", undefined, Buffer.from("x\ny\n"));
    assert.equal(d.text, "--- /dev/null\n+++ /etc/new.conf\tproposed\n@@ -0,0 +1,2 @@\n+x\n+y\n");
    assert.equal(d.addedLines, 2);
    const same = await unifiedDiff("/etc/a", Buffer.from("a\n"), Buffer.from("a\n"));
    assert.deepEqual(same, { text: "", truncated: false, addedLines: 0, removedLines: 0, binary: false });
  });

  test("binary content (a NUL byte, or not UTF-8) is summarized, not diffed", async () => {
    const nul = await unifiedDiff("/etc/k.der", Buffer.from("a\n"), Buffer.from([0x30, 0x00, 0x01]));
    assert.deepEqual(nul, { text: "Binary files /etc/k.der and /etc/k.der differ\n", truncated: false, addedLines: 0, removedLines: 0, binary: true });
    const latin1 = await unifiedDiff("/etc/a", Buffer.from([0xe9, 0x0a]), Buffer.from("b\n"));
    assert.equal(latin1.binary, true);
  });

  test("cut at the byte cap on a line boundary, flagged; counts cover the whole diff", async () => {
    const live = lines(50, (i) => `old ${i}`);
    const proposed = lines(50, (i) => `new ${i}`);
    const full = await unifiedDiff("/a", Buffer.from(live), Buffer.from(proposed));
    const cut = await unifiedDiff("/a", Buffer.from(live), Buffer.from(proposed), { maxBytes: 120 });
    assert.equal(full.truncated, false);
    assert.equal(cut.truncated, true);
    assert.ok(Buffer.byteLength(cut.text) <= 120 && cut.text.endsWith("\n") && full.text.startsWith(cut.text), cut.text);
    assert.deepEqual([cut.addedLines, cut.removedLines], [50, 50]);
  });

  test("beyond the edit length: not diffed line by line, counted as a whole-file replacement, flagged", async () => {
    const d = await unifiedDiff("/a", Buffer.from(lines(10, (i) => `a${i}`)), Buffer.from(lines(12, (i) => `b${i}`)), { maxEditLength: 5 });
    assert.equal(d.truncated, true);
    assert.deepEqual([d.addedLines, d.removedLines], [12, 10]);
    assert.match(d.text, /more than 5 changed lines.*not diffed line by line/);
  });
});

describe("config request shapes", () => {
  const f = { path: "/etc/a", content: Buffer.from("x"), sha256: "h" };
  test("one file is a set of one; a set is taken as given", () => {
    assert.deepEqual(pushedFiles(PushConfigRequest.fromPartial({ service: "s", path: "/etc/a", content: Buffer.from("x"), sha256: "h" })), [f]);
    assert.deepEqual(pushedFiles(PushConfigRequest.fromPartial({ service: "s", files: [f, { ...f, path: "/etc/b" }] })).map((x) => x.path), ["/etc/a", "/etc/b"]);
    assert.deepEqual(restoredFiles(RollbackConfigRequest.fromPartial({ service: "s", files: [{ path: "/etc/a", sha256: "" }] })), [{ path: "/etc/a", sha256: "" }]);
    assert.deepEqual(restoredFiles(RollbackConfigRequest.fromPartial({ service: "s", path: "/etc/a", sha256: "h" })), [{ path: "/etc/a", sha256: "h" }]);
  });
  test("both forms, neither, or a file without a path: refused, naming what is missing", () => {
    const refused = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: FleetError) => e.kind === "invalid_argument" && re.test(e.message));
    refused(() => pushedFiles(PushConfigRequest.fromPartial({ service: "s", path: "/etc/a", files: [f] })), /not both/);
    refused(() => pushedFiles(PushConfigRequest.fromPartial({ service: "s" })), /path \(one file\) or files \(a set\) is required/);
    refused(() => pushedFiles(PushConfigRequest.fromPartial({ path: "/etc/a" })), /service is required/);
    refused(() => pushedFiles(PushConfigRequest.fromPartial({ service: "s", files: [f, { ...f, path: "" }] })), /files\[1\]\.path is required/);
    refused(() => restoredFiles(RollbackConfigRequest.fromPartial({ service: "s", sha256: "h", files: [{ path: "/etc/a", sha256: "" }] })), /not both/);
    refused(() => restoredFiles(RollbackConfigRequest.fromPartial({ service: "s", path: "/etc/a" })), /path and sha256 \(one file\) or files \(a set\) are required/);
    refused(() => diffedFiles(DiffConfigRequest.fromPartial({ service: "s" })), /files is required/);
  });
});

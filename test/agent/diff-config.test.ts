// DiffConfig over gRPC against real files: the unified diff of proposed
// content against each live file, capped and flagged, binary summarized;
// undeclared paths, symlinks and oversize content refused; nothing written.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { AgentCallError } from "../../common/agent-client.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

describe("DiffConfig", () => {
  const scratch = scratchDir("fleet-13a-diff-");
  const dir = path.join(scratch.dir, "etc");
  const main = path.join(dir, "main.conf");
  const fresh = path.join(dir, "fresh.conf");
  const cert = path.join(dir, "cert.der");
  const big = path.join(dir, "big.conf");
  const linked = path.join(dir, "linked.conf");
  const secret = path.join(scratch.dir, "secret");
  const key = path.join(dir, "tls.key");
  const MAIN = "worker_processes 2;\nevents {}\nhttp {\n  server { listen 80; }\n}\n";
  let agent: AgentHarness;
  const file = (p: string, content: string | Buffer) => ({ path: p, content: Buffer.from(content), sha256: sha(content) });
  const diff = (files: ReturnType<typeof file>[], maxDiffBytes = 0) => agent.client.diffConfig({ service: "app", files, maxDiffBytes });
  /** Every entry of the directory with its size and mtime: DiffConfig must change none of it. */
  const snapshot = () => readdirSync(dir).map((f) => { const st = statSync(path.join(dir, f)); return `${f} ${st.size} ${st.mtimeMs}`; });

  before(async () => {
    mkdirSync(dir);
    writeFileSync(main, MAIN);
    writeFileSync(cert, Buffer.from([0x30, 0x82, 0x00, 0x01, 0x02]));
    writeFileSync(big, "#".repeat(5000) + "\n");
    writeFileSync(secret, "root-only secret\n", { mode: 0o600 });
    symlinkSync(secret, linked);
    writeFileSync(key, "-----BEGIN PRIVATE KEY-----\nold key\n", { mode: 0o600 });
    mkdirSync(path.join(scratch.dir, "state"));
    agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
limits: { max_config_bytes: 4096 }
services:
  app:
    reload: { command: [/bin/true] }
    generation: none
    configs: [{ path: ${main} }, { path: ${fresh} }, { path: ${cert} }, { path: ${big} }, { path: ${linked} }, { path: ${key}, mode: "0600" }]
`);
  });
  after(async () => {
    await agent?.stop();
    scratch.remove();
  });

  test("a set: per file, in request order, the exact unified diff, hashes and counts; a new file against /dev/null; binary summarized; nothing written", async () => {
    const before = snapshot();
    const proposed = MAIN.replace("worker_processes 2;", "worker_processes 4;").replace("  server { listen 80; }\n", "  server { listen 80; }\n  server { listen 8080; }\n");
    const r = await diff([file(main, proposed), file(fresh, "include x;\n"), file(cert, Buffer.from([0x30, 0x82, 0x00, 0x09]))]);
    assert.equal(r.service, "app");
    assert.ok(r.hostname);
    const [m, f, c] = r.files;
    assert.equal(
      m!.unifiedDiff,
      `--- ${main}\tlive\n+++ ${main}\tproposed\n@@ -1,5 +1,6 @@\n-worker_processes 2;\n+worker_processes 4;\n events {}\n http {\n   server { listen 80; }\n+  server { listen 8080; }\n }\n`,
    );
    assert.deepEqual([m!.path, m!.liveExists, m!.liveSha256, m!.newSha256, m!.addedLines, m!.removedLines, m!.truncated, m!.binary], [main, true, sha(MAIN), sha(proposed), 2, 1, false, false]);
    assert.deepEqual([f!.liveExists, f!.liveSha256, f!.unifiedDiff], [false, "", `--- /dev/null\n+++ ${fresh}\tproposed\n@@ -0,0 +1,1 @@\n+include x;\n`]);
    assert.deepEqual([c!.binary, c!.unifiedDiff], [true, `Binary files ${cert} and ${cert} differ\n`]);
    assert.deepEqual(snapshot(), before, "nothing written, created or touched");
    assert.deepEqual(readdirSync(path.join(scratch.dir, "state")), [], "no version kept for a diff");
  });

  test("unchanged content: an empty diff with equal hashes", async () => {
    const r = await diff([file(main, MAIN)]);
    assert.deepEqual([r.files[0]!.unifiedDiff, r.files[0]!.liveSha256 === r.files[0]!.newSha256, r.files[0]!.addedLines], ["", true, 0]);
  });

  test("the cap: cut at a line boundary and flagged, counts whole; a live file over max_config_bytes is not diffed", async () => {
    const proposed = Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n") + "\n";
    const full = (await diff([file(main, proposed)])).files[0]!;
    const cut = (await diff([file(main, proposed)], 200)).files[0]!;
    assert.equal(full.truncated, false);
    assert.equal(cut.truncated, true);
    assert.ok(Buffer.byteLength(cut.unifiedDiff) <= 200 && full.unifiedDiff.startsWith(cut.unifiedDiff) && cut.unifiedDiff.endsWith("\n"));
    assert.deepEqual([cut.addedLines, cut.removedLines], [40, 5]);

    const over = (await diff([file(big, "small\n")])).files[0]!;
    assert.equal(over.truncated, true);
    assert.match(over.unifiedDiff, /the live file holds 5001 bytes, more than limits\.max_config_bytes \(4096\); not diffed/);
    assert.equal(over.liveSha256, sha(readFileSync(big)));
  });

  test("refused: an undeclared path (named), a symlink at a declared path (never read), content over the limit, a wrong hash", async () => {
    await assert.rejects(diff([file(main, MAIN), file("/etc/shadow", "x")]), (e: AgentCallError) => e.code === status.PERMISSION_DENIED && /\/etc\/shadow is not a config path of service app/.test(e.message));
    await assert.rejects(diff([file(linked, "x")]), (e: AgentCallError) => {
      assert.equal(e.code, status.PERMISSION_DENIED);
      assert.match(e.message, /linked\.conf is a symlink/);
      assert.doesNotMatch(e.message, /root-only secret/);
      return true;
    });
    await assert.rejects(diff([file(main, "#".repeat(5000))]), (e: AgentCallError) => e.code === status.INVALID_ARGUMENT && /exceeds limits\.max_config_bytes \(4096\)/.test(e.message));
    await assert.rejects(diff([{ ...file(main, "a"), sha256: sha("b") }]), (e: AgentCallError) => e.code === status.INVALID_ARGUMENT && /sha256 does not match/.test(e.message));
    await assert.rejects(agent.client.diffConfig({ service: "nope", files: [file(main, "a")] }), (e: AgentCallError) => e.code === status.PERMISSION_DENIED && /service "nope" is not declared/.test(e.message));
  });

  test("a file others may not read (a key) is never shown: hashes only, whoever asks", async () => {
    const r = await diff([file(key, "-----BEGIN PRIVATE KEY-----\nnew key\n")]);
    const f = r.files[0]!;
    assert.equal(f.liveSha256, sha("-----BEGIN PRIVATE KEY-----\nold key\n"));
    assert.doesNotMatch(f.unifiedDiff, /old key|new key|PRIVATE/);
    assert.match(f.unifiedDiff, /is not world-readable \(mode 0600\); only its hashes are shown/);
  });
});

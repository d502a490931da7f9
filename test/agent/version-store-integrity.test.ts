// The version store a rollback restores from must hold exactly the bytes of
// each hash, whatever happened to it (through real agents):
// - a version file torn by a crash is rewritten when that version is saved again;
// - a rollback to a torn version is refused (FAILED_PRECONDITION, "damaged"),
//   the torn file removed, the live file untouched;
// - the real agent kill -9'd at many moments while it saves a large previous
//   version never leaves a partial file under a hash name, and its leftover
//   temp files go with the next save;
// - a store directory or a version file that is a symlink is refused, never
//   followed: nothing outside the store is removed or installed;
// - keep_versions counts the earlier versions besides the live one, so
//   keep_versions: 1 still rolls back the last push.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { createAgentClient, type AgentCallError } from "../../common/agent-client.js";
import { storeName } from "../../agent/configs/version-store.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");
const file = (p: string, s: string) => ({ path: p, content: Buffer.from(s), sha256: sha(s) });
const HASH = /^[0-9a-f]{64}$/;

describe("version store integrity", () => {
  const scratch = scratchDir("fleet-version-integrity-");
  const harnesses: AgentHarness[] = [];
  const procs: AgentProcess[] = [];
  after(async () => {
    for (const h of harnesses) await h.stop();
    for (const p of procs) p.child.kill("SIGKILL");
    scratch.remove();
  });
  let n = 0;
  const yaml = (state: string, conf: string, keep = 5) => `listen: 127.0.0.1:0
insecure: true
state_dir: ${state}
keep_versions: ${keep}
services:
  app:
    reload: { command: [/bin/true] }
    generation: none
    healthy_for: 0ms
    configs: [{ path: ${conf}, mode: "0644" }]
`;
  async function setup(name: string, initial: string) {
    const d = path.join(scratch.dir, name);
    mkdirSync(d);
    const conf = path.join(d, "app.conf");
    writeFileSync(conf, initial);
    const state = path.join(d, "state");
    const agent = await startAgent(yaml(state, conf));
    harnesses.push(agent);
    const push = (s: string) => agent.client.pushConfig({ requestId: `p${++n}`, service: "app", allowRestart: false, files: [file(conf, s)] });
    const rollback = (hash: string) => agent.client.rollbackConfig({ requestId: `r${++n}`, service: "app", allowRestart: false, files: [{ path: conf, sha256: hash }] });
    return { d, conf, state, store: path.join(state, "versions", "app", storeName(conf)), push, rollback };
  }

  test("a torn version file is rewritten when that version is saved again", async () => {
    const good = "good-config\n".repeat(1000);
    const { store, push } = await setup("torn-save", good);
    assert.match((await push("v1\n")).reason, /^installed/);
    const stored = path.join(store, sha(good));
    // What a kill -9 or a power loss in an in-place write leaves: the file named by the hash, short.
    truncateSync(stored, 100);
    assert.match((await push(good)).reason, /^installed/);
    assert.match((await push("v2\n")).reason, /^installed/);
    assert.equal(sha(readFileSync(stored)), sha(good), "the torn version file was not repaired by saving the same version again");
  });

  test("a rollback to a torn version is refused, the torn file removed, the live file untouched", async () => {
    const good = "good-config\n".repeat(1000);
    const { conf, store, push, rollback } = await setup("torn-get", good);
    assert.match((await push("v1\n")).reason, /^installed/);
    const stored = path.join(store, sha(good));
    truncateSync(stored, 0);
    await assert.rejects(rollback(sha(good)), (err: AgentCallError) => {
      assert.equal(err.code, status.FAILED_PRECONDITION, err.message);
      assert.match(err.message, new RegExp(`version ${sha(good).slice(0, 12)} of ${conf} kept on this host is damaged: its 0 bytes have sha256 ${sha("").slice(0, 12)}`));
      assert.match(err.message, /removed and nothing was installed/);
      return true;
    });
    assert.equal(readFileSync(conf, "utf8"), "v1\n", "the live file was changed");
    assert.ok(!existsSync(stored), "the damaged version is still kept");
    // Now simply not kept: the usual refusal.
    await assert.rejects(rollback(sha(good)), /is not kept on this host/);
  });

  test("kill -9 of the real agent while it saves a large previous version never leaves a partial file under a hash name", async () => {
    const d = path.join(scratch.dir, "kill9");
    mkdirSync(d);
    const conf = path.join(d, "app.conf");
    const state = path.join(d, "state");
    const cfg = path.join(d, "agent.yaml");
    writeFileSync(cfg, yaml(state, conf));
    const big = Buffer.alloc(32 * 1024 * 1024, "x");
    const store = path.join(state, "versions", "app", storeName(conf));
    let leftovers = 0;
    for (const delay of [20, 40, 80, 120, 160, 200, 260, 320, 400, 500]) {
      writeFileSync(conf, big);
      rmSync(path.join(store, sha(big)), { force: true });
      const agent = await spawnAgent(cfg);
      procs.push(agent);
      const client = createAgentClient(agent.address, { deadlineMs: 20_000 });
      const call = client.pushConfig({ requestId: `k${delay}`, service: "app", allowRestart: false, files: [file(conf, `small-${delay}\n`)] }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, delay));
      agent.child.kill("SIGKILL");
      await agent.exited();
      await call;
      client.close();
      for (const name of existsSync(store) ? readdirSync(store) : []) {
        if (HASH.test(name)) assert.equal(sha(readFileSync(path.join(store, name))), name, `kill at ${delay} ms left ${name} with other bytes than its hash`);
        else leftovers++;
      }
    }
    console.log(`# temp files left by the kills (removed by the next save): ${leftovers}`);
    // The agent comes back, the big version is live and saved again; a rollback to it restores it whole.
    writeFileSync(conf, big);
    const agent = await spawnAgent(cfg);
    procs.push(agent);
    const client = createAgentClient(agent.address, { deadlineMs: 60_000 });
    try {
      const pushed = await client.pushConfig({ requestId: "after-restart", service: "app", allowRestart: false, files: [file(conf, "small-after\n")] });
      assert.equal(pushed.previousSha256, sha(big));
      assert.deepEqual(readdirSync(store).filter((name) => !HASH.test(name)), [], "temp files of the killed saves are still in the store");
      const rb = await client.rollbackConfig({ requestId: "rb-big", service: "app", allowRestart: false, files: [{ path: conf, sha256: sha(big) }] });
      assert.match(rb.reason, /^installed/, rb.reason);
      assert.equal(sha(readFileSync(conf)), sha(big));
    } finally {
      client.close();
    }
  });

  test("a symlinked store directory is refused: nothing outside the store is removed", async () => {
    const d = path.join(scratch.dir, "symlink-dir");
    mkdirSync(d);
    const conf = path.join(d, "app.conf");
    writeFileSync(conf, "v0\n");
    const state = path.join(d, "state");
    const elsewhere = path.join(d, "elsewhere");
    mkdirSync(elsewhere);
    const precious = ["precious-1", "precious-2", "precious-3", sha("x"), sha("y")];
    for (const f of precious) writeFileSync(path.join(elsewhere, f), f);
    mkdirSync(path.join(state, "versions", "app"), { recursive: true, mode: 0o700 });
    symlinkSync(elsewhere, path.join(state, "versions", "app", storeName(conf)));
    const agent = await startAgent(yaml(state, conf, 1));
    harnesses.push(agent);
    await assert.rejects(agent.client.pushConfig({ requestId: `s${++n}`, service: "app", allowRestart: false, files: [file(conf, "v1\n")] }), (err: AgentCallError) => {
      assert.equal(err.code, status.PERMISSION_DENIED, err.message);
      assert.match(err.message, /is a symlink or not a directory/);
      return true;
    });
    assert.equal(readFileSync(conf, "utf8"), "v0\n", "the push went ahead without keeping the live version");
    assert.deepEqual(precious.filter((f) => !existsSync(path.join(elsewhere, f))), [], "files outside the store were deleted");
    await assert.rejects(
      agent.client.rollbackConfig({ requestId: `s${++n}`, service: "app", allowRestart: false, files: [{ path: conf, sha256: sha("x") }] }),
      /is a symlink or not a directory/,
    );
    assert.equal(readFileSync(conf, "utf8"), "v0\n");
  });

  test("a version file that is a symlink is refused by a rollback and replaced by a save; its target is untouched", async () => {
    const { d, conf, store, push, rollback } = await setup("symlink-file", "v0\n");
    assert.match((await push("v1\n")).reason, /^installed/);
    const secret = path.join(d, "secret");
    writeFileSync(secret, "root-only secret\n", { mode: 0o600 });
    const fake = "f".repeat(64);
    symlinkSync(secret, path.join(store, fake));
    await assert.rejects(rollback(fake), (err: AgentCallError) => {
      assert.equal(err.code, status.PERMISSION_DENIED, err.message);
      assert.match(err.message, /is a symlink to/);
      return true;
    });
    assert.equal(readFileSync(conf, "utf8"), "v1\n", "a symlinked version file put another file's bytes at the config path");
    // A symlink under the name of a version being saved: replaced by the real bytes; the target keeps its own.
    symlinkSync(secret, path.join(store, sha("v2\n")));
    assert.match((await push("v2\n")).reason, /^installed/);
    assert.match((await push("v3\n")).reason, /^installed/);
    assert.equal(readFileSync(path.join(store, sha("v2\n")), "utf8"), "v2\n");
    assert.equal(readFileSync(secret, "utf8"), "root-only secret\n");
    assert.match((await rollback(sha("v2\n"))).reason, /^installed/);
    assert.equal(readFileSync(conf, "utf8"), "v2\n");
  });
});

describe("keep_versions", () => {
  const scratch = scratchDir("fleet-keep-versions-");
  let agent: AgentHarness | undefined;
  after(async () => {
    await agent?.stop();
    scratch.remove();
  });

  test("keep_versions: 1 keeps one version to roll back to, besides the live one, and no more", async () => {
    const conf = path.join(scratch.dir, "app.conf");
    writeFileSync(conf, "v0\n");
    agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
keep_versions: 1
services:
  app:
    reload: { command: [/bin/true] }
    generation: none
    healthy_for: 0ms
    configs: [{ path: ${conf} }]
`);
    let n = 0;
    const push = (s: string) => agent!.client.pushConfig({ requestId: `p${++n}`, service: "app", allowRestart: false, files: [file(conf, s)] });
    const rollback = (hash: string) => agent!.client.rollbackConfig({ requestId: `r${++n}`, service: "app", allowRestart: false, files: [{ path: conf, sha256: hash }] });
    const r = await push("v1\n");
    assert.match(r.reason, /^installed/);
    // The controller rolls back to the previous_sha256 the push reported.
    assert.match((await rollback(r.previousSha256)).reason, /^installed/);
    assert.equal(readFileSync(conf, "utf8"), "v0\n");
    // And forward again: v1 is the one earlier version now.
    assert.match((await rollback(sha("v1\n"))).reason, /^installed/);
    assert.match((await push("v2\n")).reason, /^installed/);
    // Kept: v2 (live) and v1; v0 went out.
    await assert.rejects(rollback(sha("v0\n")), /is not kept on this host \(the newest and the 1 before it are\)/);
    assert.equal(readdirSync(path.join(scratch.dir, "state", "versions", "app", storeName(conf))).length, 2);
  });
});

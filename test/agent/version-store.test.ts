// The version store a rollback restores from, attacked through a real agent:
// - two declared paths whose names once encoded alike (`/d/a/b` and the file
//   `/d/a%2Fb`) must not share versions: a rollback of one to a hash only the
//   other ever had is refused, so no bytes move from one file to the other;
// - pushes the check refuses (staged and live) must not evict the versions
//   kept for rollback (keep_versions counts versions that were applied);
// - declared paths that are not normalized are refused at config parse,
//   naming the field.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { AgentCallError } from "../../common/agent-client.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { runAgent } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const sha = (b: string) => createHash("sha256").update(b).digest("hex");
const file = (p: string, s: string) => ({ path: p, content: Buffer.from(s), sha256: sha(s) });

describe("version store", () => {
  const scratch = scratchDir("fleet-versions-");
  const d = path.join(scratch.dir, "d");
  const nested = path.join(d, "a", "b");
  const encoded = path.join(d, "a%2Fb");
  const staged = path.join(d, "staged.conf");
  const live = path.join(d, "live.conf");
  let agent: AgentHarness;

  before(async () => {
    mkdirSync(path.join(d, "a"), { recursive: true });
    mkdirSync(path.join(scratch.dir, "state"));
    writeFileSync(encoded, "encoded-0\n");
    writeFileSync(staged, "v0\n");
    writeFileSync(live, "v0\n");
    // The check refuses any file that says "bad".
    const check = `[/bin/sh, -c, '! grep -q bad "$0"', "{path}"]`;
    agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
keep_versions: 2
services:
  pair:
    reload: { command: [/bin/true] }
    generation: none
    configs: [{ path: ${nested} }, { path: ${encoded} }]
  staged:
    reload: { command: [/bin/true] }
    generation: none
    check: ${check}
    configs: [{ path: ${staged} }]
  live:
    reload: { command: [/bin/true] }
    generation: none
    check: ${check}
    check_mode: live
    configs: [{ path: ${live} }]
`);
  });
  after(async () => {
    await agent?.stop();
    scratch.remove();
  });

  let n = 0;
  const push = (service: string, f: ReturnType<typeof file>) => agent.client.pushConfig({ requestId: `p${++n}`, service, allowRestart: false, files: [f] });
  const rollback = (service: string, p: string, hash: string) => agent.client.rollbackConfig({ requestId: `r${++n}`, service, allowRestart: false, files: [{ path: p, sha256: hash }] });

  test("paths that once encoded alike do not share versions", async () => {
    const secret = "only-ever-in-a/b\n";
    assert.match((await push("pair", file(nested, secret))).reason, /^installed/);
    await assert.rejects(rollback("pair", encoded, sha(secret)), (err: AgentCallError) => {
      assert.equal(err.code, status.FAILED_PRECONDITION, err.message);
      assert.match(err.message, /is not kept on this host/);
      return true;
    });
    assert.equal(readFileSync(encoded, "utf8"), "encoded-0\n", "bytes of a/b were installed at a%2Fb");
    // Each keeps its own: the encoded file's own previous version is still there.
    assert.match((await push("pair", file(encoded, "encoded-1\n"))).reason, /^installed/);
    assert.match((await rollback("pair", encoded, sha("encoded-0\n"))).reason, /^installed/);
    assert.equal(readFileSync(encoded, "utf8"), "encoded-0\n");
  });

  for (const [service, p] of [["staged", staged], ["live", live]] as const) {
    test(`refused pushes (check_mode ${service}) do not evict the versions kept for rollback`, async () => {
      assert.match((await push(service, file(p, "v1\n"))).reason, /^installed/);
      assert.match((await push(service, file(p, "v2\n"))).reason, /^installed/);
      for (let i = 0; i < 5; i++) {
        const r = await push(service, file(p, `bad-${i}\n`));
        assert.equal(r.ok, false, r.reason);
        assert.match(r.reason, /the check refused/);
      }
      assert.equal(readFileSync(p, "utf8"), "v2\n");
      // keep_versions: 2 holds v1 and v2; v1 must still be there for a rollback.
      const r = await rollback(service, p, sha("v1\n"));
      assert.match(r.reason, /^installed/, r.reason);
      assert.equal(readFileSync(p, "utf8"), "v1\n");
      // A refused version is not kept: nothing to roll back to.
      await assert.rejects(rollback(service, p, sha("bad-4\n")), /is not kept on this host/);
    });
  }

  test("declared paths that are not normalized are refused at config parse, naming the field", async () => {
    for (const bad of ["/etc/nginx/../x.conf", "//etc/x.conf", "/etc//x.conf", "/etc/x/.", "/etc/./x.conf", "/etc/x.conf/"]) {
      const conf = path.join(scratch.dir, "bad.yaml");
      writeFileSync(conf, `listen: 127.0.0.1:0\ninsecure: true\nservices:\n  app:\n    reload: { command: [/bin/true] }\n    configs: [{ path: /etc/ok.conf }, { path: "${bad}" }]\n`);
      const r = await runAgent(["--config", conf, "--check-config"]);
      assert.equal(r.code, 2, `${bad}: ${r.output}`);
      assert.match(r.output, /services\.app\.configs\.1\.path: must be a normalized absolute path/, `${bad}: ${r.output}`);
      assert.match(r.output, /normalized/, `${bad}: ${r.output}`);
    }
  });
});

// PushConfig / RollbackConfig against a real nginx: validate before swap,
// atomic install, reload with evidence; refusals write nothing.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { AgentCallError } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { ConfigChange } from "../../proto/gen/fleet/agent/v1/agent.js";
import { childrenOf } from "../../agent/process/proc-fs.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { NGINX, nginxMissing, startNginx, type Nginx } from "../helpers/nginx.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

describe("config push to nginx", { skip: nginxMissing }, () => {
  const scratch = scratchDir();
  let nginx: Nginx;
  let agent: AgentHarness;
  let n = 0;
  const push = (content: string | Buffer, p?: string) => {
    const buf = Buffer.from(content);
    return agent.client.pushConfig({ requestId: `push-${++n}`, service: "nginx", path: p ?? nginx.conf, content: buf, sha256: sha(buf), allowRestart: false });
  };

  before(async () => {
    nginx = await startNginx(scratch.dir);
    mkdirSync(path.join(scratch.dir, "state"));
    agent = await startAgent(`
listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
limits: { max_config_bytes: 65536 }
services:
  nginx:
    reload: { signal: HUP, pidfile: ${nginx.pidfile} }
    check: [${NGINX}, -t, -q, -p, "${scratch.dir}/", -e, ${nginx.errorLog}, -c, "{path}"]
    reject_markers: { log: ${nginx.errorLog}, pattern: "\\\\[emerg\\\\]" }
    generation: workers
    healthy_for: 200ms
    health: [{ http: "http://127.0.0.1:${nginx.port}/healthz" }]
    configs:
      - { path: ${nginx.conf}, mode: "0640", owner: root }
      - { path: ${scratch.dir}/linked.conf }
  nginx-live:
    reload: { signal: HUP, pidfile: ${nginx.pidfile} }
    check: [${NGINX}, -t, -q, -p, "${scratch.dir}/", -e, ${nginx.errorLog}, -c, ${nginx.conf}]
    check_mode: live
    generation: workers
    healthy_for: 200ms
    configs: [{ path: ${nginx.conf}, mode: "0640", owner: root }]
`);
  });
  after(async () => {
    await agent?.stop();
    await nginx?.stop();
    scratch.remove();
  });

  test("a good config is validated, installed atomically with its mode, reloaded, and served", async () => {
    const before = readFileSync(nginx.conf);
    const r = await push(nginx.config("pushed-v2"));
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_INSTALLED, r.reason);
    assert.equal(r.ok, true, r.reason);
    assert.equal(r.previousSha256, sha(before));
    assert.equal(r.check!.ok, true);
    assert.equal(outcomeToWord(r.reload!.outcome), "reloaded");
    assert.equal(await (await fetch(`http://127.0.0.1:${nginx.port}/`)).text(), "pushed-v2\n");
    assert.equal((await import("node:fs")).statSync(nginx.conf).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(scratch.dir).filter((f) => f.includes(".fleet-")), [], "no temp or staged files left");
  });

  test("the same file again is unchanged: nothing written, nothing reloaded", async () => {
    const workers = await childrenOf(nginx.masterPid());
    const r = await push(readFileSync(nginx.conf));
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_UNCHANGED);
    assert.equal(r.ok, true);
    assert.equal(r.reload, undefined);
    assert.deepEqual(await childrenOf(nginx.masterPid()), workers);
  });

  test("a broken config is rejected by the staged check: the live file is byte-identical and nginx is not signalled", async () => {
    const live = readFileSync(nginx.conf);
    const workers = await childrenOf(nginx.masterPid());
    const r = await push(nginx.config("x").replace("access_log off;", "access_log off;\n  bogus_directive on;"));
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_REJECTED);
    assert.equal(r.ok, false);
    assert.match(r.reason, /unknown directive "bogus_directive" in .*nginx\.conf/);
    assert.doesNotMatch(r.reason, /fleet-staged/, "the message names the real path");
    assert.ok(readFileSync(nginx.conf).equals(live));
    assert.deepEqual(await childrenOf(nginx.masterPid()), workers);
  });

  test("check_mode live: the file is swapped, checked in place, and restored byte-identical when the check fails", async () => {
    const live = readFileSync(nginx.conf);
    const workers = await childrenOf(nginx.masterPid());
    const bad = Buffer.from(nginx.config("x").replace("access_log off;", "access_log off;\n  bogus_directive on;"));
    const r = await agent.client.pushConfig({ requestId: `live-${++n}`, service: "nginx-live", path: nginx.conf, content: bad, sha256: sha(bad), allowRestart: false });
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_REJECTED);
    assert.match(r.reason, /the previous file was restored: .*unknown directive "bogus_directive"/);
    assert.ok(readFileSync(nginx.conf).equals(live));
    assert.deepEqual(await childrenOf(nginx.masterPid()), workers, "not signalled");
  });

  test("rollback restores a kept version by hash and reloads", async () => {
    const current = readFileSync(nginx.conf);
    const v3 = await push(nginx.config("v3"));
    assert.equal(v3.ok, true);
    const r = await agent.client.rollbackConfig({ requestId: `rb-${++n}`, service: "nginx", path: nginx.conf, sha256: sha(current), allowRestart: false });
    assert.equal(r.ok, true, r.reason);
    assert.equal(r.newSha256, sha(current));
    assert.ok(readFileSync(nginx.conf).equals(current));
    assert.equal(await (await fetch(`http://127.0.0.1:${nginx.port}/`)).text(), "pushed-v2\n");
    await assert.rejects(
      agent.client.rollbackConfig({ requestId: `rb-${++n}`, service: "nginx", path: nginx.conf, sha256: "0".repeat(64), allowRestart: false }),
      (e: AgentCallError) => e.code === status.FAILED_PRECONDITION && /is not kept/.test(e.message),
    );
  });

  test("undeclared paths, '..', symlink escapes and oversize files are refused and nothing is written", async () => {
    const refused = async (p: string, content: string | Buffer, code: status, re: RegExp) =>
      assert.rejects(push(content, p), (e: AgentCallError) => {
        assert.equal(e.code, code, e.message);
        assert.match(e.message, re);
        return true;
      });
    await refused("/etc/passwd", "root::0:0::/:/bin/sh\n", status.PERMISSION_DENIED, /\/etc\/passwd is not a config path of service nginx; declared:/);
    await refused(`${scratch.dir}/../etc/nginx.conf`, "x", status.PERMISSION_DENIED, /contains '\.\.'/);
    const outside = path.join(scratch.dir, "outside.conf");
    writeFileSync(outside, "original\n");
    symlinkSync(outside, path.join(scratch.dir, "linked.conf"));
    await refused(`${scratch.dir}/linked.conf`, "evil\n", status.PERMISSION_DENIED, /is a symlink to .*outside\.conf; fleet only replaces regular files/);
    assert.equal(readFileSync(outside, "utf8"), "original\n");
    await refused(nginx.conf, Buffer.alloc(70_000, "#"), status.INVALID_ARGUMENT, /exceeds limits\.max_config_bytes \(65536\); nothing written/);
    const buf = Buffer.from("events {}\n");
    await assert.rejects(agent.client.pushConfig({ requestId: `bad-sha-${++n}`, service: "nginx", path: nginx.conf, content: buf, sha256: sha("other"), allowRestart: false }), /sha256 does not match/);
    assert.ok(existsSync(nginx.conf));
    assert.doesNotMatch(readFileSync(nginx.conf, "utf8"), /^#+$/);
  });
});

// A real nginx (Debian's package, own prefix, loopback port) under a real agent.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { outcomeToWord } from "../../common/outcome-words.js";
import { childrenOf } from "../../agent/process/proc-fs.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { NGINX, nginxMissing, startNginx, type Nginx } from "../helpers/nginx.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

if (nginxMissing) console.log(`# skipping nginx tests: ${nginxMissing}`);

describe("nginx under the agent", { skip: nginxMissing }, () => {
  const scratch = scratchDir();
  let nginx: Nginx;
  let agent: AgentHarness;
  let n = 0;
  const reload = (service: string) => agent.client.reload({ requestId: `ng-${++n}`, service, allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });

  before(async () => {
    nginx = await startNginx(scratch.dir);
    const common = `
    reload: { signal: HUP, pidfile: ${nginx.pidfile} }
    generation: workers
    generation_timeout: 3s
    healthy_for: 300ms
    health:
      - { http: "http://127.0.0.1:${nginx.port}/healthz", status: 200, body: "ok" }
    configs:
      - { path: ${nginx.conf}, mode: "0644", owner: root }`;
    agent = await startAgent(`
listen: 127.0.0.1:0
insecure: true
services:
  nginx:${common}
    check: [${NGINX}, -t, -q, -p, "${scratch.dir}/", -e, ${nginx.errorLog}, -c, "{path}"]
    reject_markers: { log: ${nginx.errorLog}, pattern: "\\\\[emerg\\\\]" }
  nginx-nocheck:${common}
    reject_markers: { log: ${nginx.errorLog}, pattern: "\\\\[emerg\\\\]" }
  nginx-hasty:
    reload: { signal: HUP, pidfile: ${nginx.pidfile} }
    generation: workers
    generation_timeout: 1ms
    reject_markers: { log: ${nginx.errorLog}, pattern: "\\\\[emerg\\\\]" }
`);
  });
  after(async () => {
    await agent?.stop();
    await nginx?.stop();
    scratch.remove();
  });

  /** A client-side probe loop, a new connection per request, counting refusals. */
  function probeLoop() {
    let stop = false;
    const counts = { sent: 0, ok: 0, refused: 0, other: 0 };
    const done = (async () => {
      while (!stop) {
        counts.sent++;
        try {
          const res = await fetch(`http://127.0.0.1:${nginx.port}/`, { headers: { connection: "close" }, signal: AbortSignal.timeout(2000) });
          await res.text();
          if (res.ok) counts.ok++;
          else counts.other++;
        } catch (err) {
          if (String((err as { cause?: { code?: string } }).cause?.code) === "ECONNREFUSED") counts.refused++;
          else counts.other++;
        }
      }
    })();
    return { counts, stop: async () => ((stop = true), await done, counts) };
  }

  test("reload -> reloaded: master (pid, starttime) unchanged, new workers, zero refused probes", async () => {
    writeFileSync(nginx.conf, nginx.config("v2"));
    const master = nginx.masterPid();
    const workersBefore = await childrenOf(master);
    const loop = probeLoop();
    const r = await reload("nginx");
    const counts = await loop.stop();
    assert.equal(outcomeToWord(r.outcome), "reloaded", r.reason);
    const e = r.evidence!;
    assert.equal(e.check!.ran, true);
    assert.equal(e.check!.ok, true);
    assert.equal(e.mainBefore!.pid, master);
    assert.equal(e.mainAfter!.pid, master);
    assert.equal(e.mainAfter!.startTime, e.mainBefore!.startTime);
    assert.deepEqual(e.workersBefore, workersBefore);
    assert.ok(e.workersAfter.some((p) => !workersBefore.includes(p)), "new worker PIDs");
    assert.equal(e.generation!.source, "workers");
    assert.equal(e.probes!.refused, 0);
    assert.ok(counts.sent > 5, `the test's own probe loop ran (${counts.sent})`);
    assert.equal(counts.refused, 0, JSON.stringify(counts));
    assert.equal(counts.other, 0, JSON.stringify(counts));
    // The old generation drains away; nginx serves the new config.
    await waitFor("old workers to exit", async () => (await childrenOf(master)).every((p) => !workersBefore.includes(p)));
    assert.equal(await (await fetch(`http://127.0.0.1:${nginx.port}/`)).text(), "v2\n");
  });

  test("a broken config with a declared check -> rejected with nginx's message, nothing signalled", async () => {
    const good = readFileSync(nginx.conf, "utf8");
    const master = nginx.masterPid();
    const workersBefore = await childrenOf(master);
    const logBefore = readFileSync(nginx.errorLog, "utf8");
    writeFileSync(nginx.conf, good.replace("access_log off;", "access_log off;\n  bogus_directive on;"));
    try {
      const r = await reload("nginx");
      assert.equal(outcomeToWord(r.outcome), "rejected", r.reason);
      assert.equal(r.evidence!.signalled, false);
      assert.equal(r.evidence!.check!.ok, false);
      assert.match(r.evidence!.check!.output, /unknown directive "bogus_directive"/);
      assert.match(r.reason, /config check failed.*nothing was signalled/);
      assert.deepEqual(await childrenOf(master), workersBefore, "workers unchanged: no signal");
      assert.equal((readFileSync(nginx.errorLog, "utf8").match(/SIGHUP/g) ?? []).length, (logBefore.match(/SIGHUP/g) ?? []).length, "nginx logged no new SIGHUP");
    } finally {
      writeFileSync(nginx.conf, good);
    }
  });

  test("a broken config without a check -> nginx rejects it at apply time and the agent says rejected", async () => {
    const good = readFileSync(nginx.conf, "utf8");
    const master = nginx.masterPid();
    const workersBefore = await childrenOf(master);
    writeFileSync(nginx.conf, good.replace("access_log off;", "access_log off;\n  bogus_directive on;"));
    try {
      const r = await reload("nginx-nocheck");
      assert.equal(outcomeToWord(r.outcome), "rejected", r.reason);
      assert.equal(r.evidence!.signalled, true);
      assert.equal(r.evidence!.check!.ran, false);
      assert.match(r.evidence!.rejectMarker, /\[emerg\].*unknown directive "bogus_directive"/);
      assert.equal(r.evidence!.mainAfter!.pid, master);
      assert.deepEqual(await childrenOf(master), workersBefore, "no new generation: old workers still serving");
      assert.equal(await (await fetch(`http://127.0.0.1:${nginx.port}/`)).text(), "v2\n", "the old config still serves");
    } finally {
      writeFileSync(nginx.conf, good);
    }
  });

  test("a generation_timeout too short to see the old workers retire -> failed, timed out, never rejected", async () => {
    writeFileSync(nginx.conf, nginx.config("v3"));
    const master = nginx.masterPid();
    const workersBefore = await childrenOf(master);
    const r = await reload("nginx-hasty");
    assert.equal(outcomeToWord(r.outcome), "failed", r.reason);
    assert.notEqual(outcomeToWord(r.outcome), "rejected");
    assert.match(r.reason, /^timed out after 1ms waiting for the old workers to stop listening: new workers [\d,]+ are up/);
    assert.equal(r.evidence!.signalled, true);
    assert.equal(r.evidence!.generation!.observed, false);
    assert.equal(r.evidence!.mainAfter!.pid, master, "the master is unchanged");
    // nginx did load it: the new config serves once the old workers are gone.
    await waitFor("old workers to exit", async () => (await childrenOf(master)).every((p) => !workersBefore.includes(p)));
    assert.equal(await (await fetch(`http://127.0.0.1:${nginx.port}/`)).text(), "v3\n");
  });
});

// What systemd and its journal know, as reload evidence: a real systemd (and
// journald) as PID 1 of a test host, the real agent inside it.
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createAgentClient, type AgentClient } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { startSystemdHost, systemdHostMissing, type SystemdHost } from "../helpers/systemd-host.js";

const REDIS = "/usr/bin/redis-server";
if (systemdHostMissing) console.log(`# skipping systemd evidence tests: ${systemdHostMissing}`);

/** A shell daemon (its script in the host's dir) that prints `onHup` on every SIGHUP, and `atStart` once. */
function shellDaemon(dir: string, name: string, atStart: string, onHup: string): string {
  const script = path.join(dir, `${name}.sh`);
  writeFileSync(script, `echo '${atStart}'\ntrap "echo '${onHup}'" HUP\nwhile :; do sleep 0.05; done\n`);
  return `[Service]\nExecStart=/bin/sh ${script}\nExecReload=/bin/kill -HUP $MAINPID\n`;
}

describe("systemd and journal evidence on a real systemd test host", { skip: systemdHostMissing }, () => {
  let host: SystemdHost;
  let agent: AgentProcess;
  let client: AgentClient;
  let n = 0;
  const reload = (service: string) => client.reload({ requestId: `sde-${++n}`, service, allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });

  before(async () => {
    host = await startSystemdHost("i10sd", (dir) => ({
      "failreload.service": `[Service]\nExecStart=/bin/sleep 1000\nExecReload=/bin/sh -c 'echo cannot reload >&2; exit 1'\n`,
      "rejecting.service": shellDaemon(dir, "rejecting", "config rejected: this line was logged at startup", "config rejected: bad line 3"),
      "genlog.service": shellDaemon(dir, "genlog", "config loaded at startup", "config loaded: generation 2"),
      "silent.service": shellDaemon(dir, "silent", "config loaded at startup", "nothing to say"),
      ...(existsSync(REDIS) ? { "kvstore.service": `[Service]\nExecStart=${REDIS} --port 6391 --bind 127.0.0.1 --save "" --appendonly no\nExecReload=/bin/kill -HUP $MAINPID\n` } : {}),
    }));
    const journald = await host.run(["/usr/bin/systemctl", "is-active", "systemd-journald"]);
    assert.equal(journald.output.trim(), "active", "journald runs inside the test host");
    const r = await host.run(["/bin/sh", "-c", `systemctl start failreload rejecting genlog silent ${existsSync(REDIS) ? "kvstore" : ""}`]);
    assert.equal(r.exitCode, 0, r.output);
    await host.waitHupHandled(["rejecting", "genlog", "silent", ...(existsSync(REDIS) ? ["kvstore"] : [])]);

    const conf = path.join(host.dir, "agent.yaml");
    writeFileSync(
      conf,
      `listen: unix:${host.dir}/agent.sock
insecure: true
state_dir: ${host.dir}/state
services:
  failreload:
    reload: { systemd: failreload.service }
    generation: { journal: "config loaded" }
  rejecting:
    reload: { systemd: rejecting.service }
    generation: { journal: "config loaded" }
    reject_markers: { journal: true, pattern: "config rejected" }
    generation_timeout: 2s
  genlog:
    reload: { systemd: genlog.service }
    generation: { journal: "config loaded" }
    reject_markers: { journal: true, pattern: "config rejected" }
    healthy_for: 100ms
  silent:
    reload: { systemd: silent.service }
    generation: { journal: "config loaded" }
    generation_timeout: 1s
  redis:
    reload: { systemd: kvstore.service }
    health: [{ tcp: "127.0.0.1:6391" }]
    healthy_for: 100ms
`,
    );
    agent = await spawnAgent(conf, {}, ["/usr/bin/nsenter", "-t", String(host.pid1), "-a"]);
    client = createAgentClient(agent.address);
    await client.describe({ deadlineMs: 10_000 });
  });
  after(async () => {
    client?.close();
    await agent?.stopInside();
    await host?.stop();
  });

  test("ExecReload exits 1 -> failed with systemd's reason", async () => {
    const r = await reload("failreload");
    assert.equal(outcomeToWord(r.outcome), "failed", r.reason);
    assert.match(r.reason, /systemctl reload failreload\.service failed \(exit 1\): Job for failreload\.service failed/);
    assert.match(r.reason, /ReloadResult=exit-code/);
    assert.match(r.reason, /ExecReload \/bin\/sh exited with status 1/);
  });

  test("a unit that writes a rejection line to its journal on reload -> rejected with that line (not the startup one)", async () => {
    const r = await reload("rejecting");
    assert.equal(outcomeToWord(r.outcome), "rejected", r.reason);
    assert.equal(r.evidence!.signalled, true);
    assert.equal(r.evidence!.rejectMarker, "config rejected: bad line 3");
    assert.match(r.reason, /its log says: config rejected: bad line 3/);
  });

  test("a unit that logs the declared generation line -> reloaded with the journal as its evidence", async () => {
    const r = await reload("genlog");
    assert.equal(outcomeToWord(r.outcome), "reloaded", r.reason);
    assert.equal(r.ok, true);
    assert.equal(r.evidence!.generation!.source, "journal");
    assert.equal(r.evidence!.generation!.observed, true);
    assert.equal(r.evidence!.generation!.after, "config loaded: generation 2");
    assert.equal(r.evidence!.mainAfter!.invocationId, r.evidence!.mainBefore!.invocationId);
    assert.match(r.reason, /new generation \(journal\) observed/);
  });

  test("a matching line logged before the signal does not count: no new generation -> rejected", async () => {
    const r = await reload("silent");
    assert.equal(r.evidence!.signalled, true);
    assert.equal(r.evidence!.generation!.observed, false);
    assert.equal(outcomeToWord(r.outcome), "rejected", r.reason);
    assert.match(r.reason, /no new generation \(journal\) within 1000ms/);
  });

  test("redis (which ignores SIGHUP) through ExecReload=kill -HUP -> refused, nothing sent, still running", { skip: existsSync(REDIS) ? undefined : `${REDIS} not installed` }, async () => {
    const r = await reload("redis");
    assert.equal(outcomeToWord(r.outcome), "refused", r.reason);
    assert.match(r.reason, /ExecReload= \(\/bin\/kill -HUP \$MAINPID\) sends SIGHUP to its main process, but pid \d+ ignores SIGHUP: it cannot reload by signal; nothing was sent/);
    assert.equal(r.ok, false);
    assert.equal(r.evidence!.signalled, false);
    const still = await host.run(["/usr/bin/systemctl", "is-active", "kvstore.service"]);
    assert.equal(still.output.trim(), "active", "redis is still running");
  });
});

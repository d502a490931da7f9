// The systemd reload method against a real systemd, as PID 1 of a test host.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createAgentClient, type AgentClient } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { startSystemdHost, systemdHostMissing, type SystemdHost } from "../helpers/systemd-host.js";
import { WEB_SERVICE_COMMAND } from "../helpers/web-service.js";

if (systemdHostMissing) console.log(`# skipping systemd test host: ${systemdHostMissing}`);

describe("systemd method on a real systemd test host", { skip: systemdHostMissing }, () => {
  let host: SystemdHost;
  let agent: AgentProcess;
  let client: AgentClient;
  let n = 0;
  const reload = (service: string) => client.reload({ requestId: `sd-${++n}`, service, allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
  const web = (port: number, dir: string) => `${WEB_SERVICE_COMMAND.join(" ")} --port ${port} --config ${dir}/web.json`;

  before(async () => {
    host = await startSystemdHost("sd1", (dir) => ({
      "web.service": `[Service]\nExecStart=${web(8080, dir)}\nExecReload=/bin/kill -HUP $MAINPID\n`,
      "noreload.service": `[Service]\nExecStart=/bin/sleep 1000\n`,
      "fakereload.service": `[Service]\nExecStart=/bin/sleep 1000\nExecReload=/bin/kill -TERM $MAINPID\nRestart=always\nRestartSec=100ms\n`,
      // sleep has no SIGHUP handler: this "reload" would kill it.
      "nohandler.service": `[Service]\nExecStart=/bin/sleep 1000\nExecReload=/bin/kill -HUP $MAINPID\n`,
    }));
    writeFileSync(path.join(host.dir, "web.json"), JSON.stringify({ healthy: true }));
    const r = await host.run(["/bin/sh", "-c", "systemctl daemon-reload && systemctl start web noreload fakereload nohandler"]);
    assert.equal(r.exitCode, 0, r.output);
    await host.waitHupHandled(["web.service"]);

    const conf = path.join(host.dir, "agent.yaml");
    writeFileSync(
      conf,
      `listen: unix:${host.dir}/agent.sock
insecure: true
state_dir: ${host.dir}/state
services:
  web:
    reload: { systemd: web.service }
    generation: { http: "http://127.0.0.1:8080/generation", json: generation }
    health: [{ http: "http://127.0.0.1:8080/healthz" }, { tcp: "127.0.0.1:8080" }]
    healthy_for: 300ms
  noreload:
    reload: { systemd: noreload.service }
  fakereload:
    reload: { systemd: fakereload.service }
    generation: none
  nohandler:
    reload: { systemd: nohandler.service }
    generation: none
`,
    );
    agent = await spawnAgent(conf, {}, ["/usr/bin/nsenter", "-t", String(host.pid1), "-a"]);
    // A unix socket on the real disk: reachable from the root namespace.
    client = createAgentClient(agent.address);
    await client.describe({ deadlineMs: 10_000 });
  });
  after(async () => {
    client?.close();
    // The agent is not in a unit: stop it first so the host's poweroff does not wait on it.
    await agent?.stopInside();
    await host?.stop();
  });

  test("a unit with ExecReload= -> reloaded, same MainPID and InvocationID", async () => {
    const r = await reload("web");
    assert.equal(outcomeToWord(r.outcome), "reloaded", r.reason);
    const e = r.evidence!;
    assert.equal(e.action, "systemctl reload web.service");
    assert.match(e.mainBefore!.invocationId, /^[0-9a-f]{32}$/);
    assert.equal(e.mainAfter!.invocationId, e.mainBefore!.invocationId);
    assert.equal(e.mainAfter!.pid, e.mainBefore!.pid);
    assert.equal(e.generation!.observed, true);
    assert.equal(e.probes!.refused, 0);
  });

  test("a unit without ExecReload= -> refused with systemd's reason", async () => {
    const r = await reload("noreload");
    assert.equal(outcomeToWord(r.outcome), "refused", r.reason);
    assert.match(r.reason, /CanReload=no/);
    assert.match(r.reason, /Job type reload is not applicable for unit noreload\.service/);
    assert.equal(r.evidence!.signalled, false);
  });

  test("ExecReload=kill -HUP $MAINPID to a main process without a SIGHUP handler -> refused, nothing sent, still running", async () => {
    const mainPid = async () => (await host.run(["/usr/bin/systemctl", "show", "-p", "MainPID", "--value", "nohandler"])).output.trim();
    const before = await mainPid();
    const r = await reload("nohandler");
    assert.equal(outcomeToWord(r.outcome), "refused", r.reason);
    assert.match(r.reason, /ExecReload= \(\/bin\/kill -HUP \$MAINPID\) sends SIGHUP to its main process, but SIGHUP would terminate pid \d+: it has no handler for it; nothing was sent/);
    assert.equal(r.evidence!.signalled, false);
    assert.equal((await host.run(["/usr/bin/systemctl", "is-active", "nohandler"])).output.trim(), "active");
    assert.equal(await mainPid(), before, "the main process was not touched");
  });

  test("a unit whose 'reload' really restarts it -> restarted (MainPID or InvocationID changed)", async () => {
    const r = await reload("fakereload");
    assert.equal(outcomeToWord(r.outcome), "restarted", r.reason);
    assert.equal(r.ok, false);
    assert.notEqual(r.evidence!.mainAfter!.pid, r.evidence!.mainBefore!.pid);
    assert.match(r.reason, /main PID changed|InvocationID changed/);
  });
});

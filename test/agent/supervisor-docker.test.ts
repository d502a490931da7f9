// supervisord (Debian's supervisor) managing a real program; docker's argv and
// error handling (no Docker engine runs on this machine).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { outcomeToWord } from "../../common/outcome-words.js";
import { dockerDriver, dockerKillArgv } from "../../agent/drivers/docker-driver.js";
import type { CommandRunner } from "../../agent/process/command-runner.js";
import { SystemdClient } from "../../agent/process/systemd-client.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { freePort } from "../../common/free-port.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { WEB_SERVICE_COMMAND } from "../helpers/web-service.js";
import { waitFor } from "../helpers/wait-for.js";

const supervisorMissing = existsSync("/usr/bin/supervisord") ? undefined : "supervisord not installed (apt-get install supervisor; .ci/run installs it)";
if (supervisorMissing) console.log(`# skipping supervisor test: ${supervisorMissing}`);

describe("supervisor method", { skip: supervisorMissing }, () => {
  const scratch = scratchDir();
  let supervisord: ChildProcess;
  let agent: AgentHarness;
  let port: number;
  const conf = path.join(scratch.dir, "supervisord.conf");

  before(async () => {
    port = await freePort();
    const d = scratch.dir;
    writeFileSync(path.join(d, "app.json"), JSON.stringify({ healthy: true }));
    writeFileSync(conf, `
[unix_http_server]
file=${d}/supervisor.sock
chmod=0700
[supervisord]
logfile=${d}/supervisord.log
pidfile=${d}/supervisord.pid
childlogdir=${d}
nodaemon=true
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://${d}/supervisor.sock
[program:app]
command=${WEB_SERVICE_COMMAND.join(" ")} --port ${port} --config ${d}/app.json --log ${d}/app.log
autorestart=true
startsecs=1
[program:idle]
command=/bin/sleep 300
autostart=false
`);
    supervisord = spawn("/usr/bin/supervisord", ["-c", conf], { stdio: "ignore" });
    await waitFor("app to serve", async () => (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) })).ok, 30_000);
    agent = await startAgent(`
listen: 127.0.0.1:0
insecure: true
services:
  app:
    reload: { supervisor: app, signal: HUP, config: ${conf} }
    generation: { http: "http://127.0.0.1:${port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${port}/healthz" }]
    healthy_for: 200ms
  idle:
    reload: { supervisor: idle, config: ${conf} }
`);
  });
  after(async () => {
    await agent?.stop();
    supervisord?.kill("SIGTERM");
    await waitFor("supervisord to exit", () => supervisord.exitCode !== null || supervisord.signalCode !== null, 10_000).catch(() => supervisord.kill("SIGKILL"));
    scratch.remove();
  });

  test("supervisorctl signal HUP reloads the program, proven by a new generation under the same pid", async () => {
    const before = (await (await fetch(`http://127.0.0.1:${port}/generation`)).json()) as { pid: number; generation: number };
    const r = await agent.client.reload({ requestId: "sup-1", service: "app", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
    assert.equal(outcomeToWord(r.outcome), "reloaded", r.reason);
    assert.equal(r.evidence!.mainBefore!.pid, before.pid, "supervisorctl pid found the program's process");
    assert.equal(r.evidence!.mainAfter!.pid, before.pid);
    assert.match(r.evidence!.action, /supervisorctl -c .* signal HUP app/);
    assert.equal(Number(r.evidence!.generation!.after), before.generation + 1);
  });

  test("a program supervisor is not running is not_running", async () => {
    const r = await agent.client.reload({ requestId: "sup-2", service: "idle", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
    assert.equal(outcomeToWord(r.outcome), "not_running", r.reason);
    assert.match(r.reason, /supervisor program idle is not running/);
  });
});

describe("docker method (no Docker engine on this machine)", () => {
  const spec = { method: "docker" as const, container: "web", signal: "HUP" as const };

  test("the argv is docker kill --signal=SIG -- CONTAINER, never through a shell", () => {
    assert.deepEqual(dockerKillArgv(spec), ["/usr/bin/docker", "kill", "--signal=HUP", "--", "web"]);
  });

  test("with no engine (or no docker client) a reload fails with docker's own message", async () => {
    const agent = await startAgent(`listen: 127.0.0.1:0\ninsecure: true\nservices:\n  web:\n    reload: { docker: web, signal: HUP }\n`);
    try {
      const r = await agent.client.reload({ requestId: "dock-1", service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
      assert.equal(outcomeToWord(r.outcome), "failed");
      assert.match(r.reason, /^docker inspect web: /);
      assert.match(r.reason, existsSync("/usr/bin/docker") ? /Cannot connect to the Docker daemon|docker daemon/i : /ENOENT/);
      assert.equal(r.evidence!.signalled, false);
    } finally {
      await agent.stop();
    }
  });

  test("docker kill's failure is reported with its output (runner stubbed: the engine cannot run here)", async () => {
    const calls: string[][] = [];
    const runner: CommandRunner = {
      async run(argv) {
        calls.push(argv);
        return { argv, exitCode: 1, output: "Error response from daemon: cannot kill container: web: container is not running", timedOut: false, durationMs: 3 };
      },
    };
    const driver = dockerDriver(spec, { runner, systemd: new SystemdClient(runner) });
    const r = await driver.trigger(undefined, { timeoutMs: 1000 });
    assert.deepEqual(calls, [["/usr/bin/docker", "kill", "--signal=HUP", "--", "web"]]);
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : "", /container is not running/);
  });
});

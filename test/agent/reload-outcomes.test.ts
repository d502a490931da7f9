// Real agent, real gRPC on port 0, real child processes that handle SIGHUP.
import assert from "node:assert/strict";
import { writeFileSync, rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { AgentCallError } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";

const serviceYaml = (name: string, svc: WebService, extra = "") => `
  ${name}:
    reload: { signal: HUP, pidfile: ${svc.pidfile} }
    generation: { http: "http://127.0.0.1:${svc.port}/generation", json: generation }
    reject_markers: { log: ${svc.logFile}, pattern: "\\\\[emerg\\\\]" }
    health:
      - { http: "http://127.0.0.1:${svc.port}/healthz", status: 200 }
      - { tcp: "127.0.0.1:${svc.port}" }
    generation_timeout: 1500ms
    healthy_for: 300ms
${extra}`;

describe("reload outcomes against real processes", () => {
  const scratch = scratchDir();
  let normal: WebService, deaf: WebService, reexec: WebService, weak: WebService;
  let agent: AgentHarness;
  let n = 0;
  const reload = (service: string, extra: { allowRestart?: boolean; requestId?: string } = {}) =>
    agent.client.reload({ requestId: extra.requestId ?? `t-${++n}`, service, allowRestart: extra.allowRestart ?? false, generationTimeoutMs: 0, healthyForMs: 0 });

  before(async () => {
    [normal, deaf, reexec, weak] = await Promise.all([
      startWebService(scratch.dir, "normal"),
      startWebService(scratch.dir, "deaf", "ignore-hup"),
      startWebService(scratch.dir, "reexec", "reexec"),
      startWebService(scratch.dir, "weak"),
    ]);
    agent = await startAgent(`
listen: 127.0.0.1:0
insecure: true
services:
${serviceYaml("web", normal)}
${serviceYaml("deaf", deaf)}
${serviceYaml("reexec", reexec)}
${serviceYaml("reexec-allowed", reexec, "    allow_restart: true")}
  weak:
    reload: { signal: HUP, pidfile: ${weak.pidfile} }
    generation: none
    health: [{ http: "http://127.0.0.1:${weak.port}/healthz" }]
    healthy_for: 200ms
  gone:
    reload: { signal: HUP, pidfile: ${scratch.dir}/no-such.pid }
  slowcheck:
    reload: { signal: HUP, pidfile: ${weak.pidfile} }
    check: [/bin/sleep, "5"]
    command_timeout: 300ms
`);
  });
  after(async () => {
    await agent?.stop();
    await Promise.all([normal, deaf, reexec, weak].map((s) => s?.stop()));
    scratch.remove();
  });

  test("a SIGHUP that loads the config is reloaded, with the same main identity and no refused probe", async () => {
    const before = await normal.generation();
    const r = await reload("web");
    assert.equal(outcomeToWord(r.outcome), "reloaded", r.reason);
    assert.equal(r.ok, true);
    const e = r.evidence!;
    assert.equal(e.mainBefore!.pid, before.pid);
    assert.deepEqual([e.mainAfter!.pid, e.mainAfter!.startTime], [e.mainBefore!.pid, e.mainBefore!.startTime]);
    assert.equal(e.generation!.source, "http");
    assert.equal(e.generation!.observed, true);
    assert.equal(Number(e.generation!.after), before.generation + 1);
    assert.ok(e.probes!.sent >= 2, `probes ran during the window (${e.probes!.sent})`);
    assert.equal(e.probes!.refused, 0);
    assert.equal(e.probes!.failed, 0);
    assert.equal((await normal.generation()).reloads, before.reloads + 1);
  });

  test("a process that ignores SIGHUP, with declared generation evidence, is rejected", async () => {
    const r = await reload("deaf");
    assert.equal(outcomeToWord(r.outcome), "rejected", r.reason);
    assert.match(r.reason, /no new generation \(http\) within 1500ms/);
    assert.equal(r.evidence!.signalled, true);
    assert.equal((await deaf.generation()).reloads, 1, "the signal did arrive");
  });

  test("a config the service refuses at apply time is rejected from its log's [emerg] line", async () => {
    writeFileSync(normal.configFile, "{ this is not json");
    try {
      const r = await reload("web");
      assert.equal(outcomeToWord(r.outcome), "rejected", r.reason);
      assert.match(r.evidence!.rejectMarker, /\[emerg\] cannot load/);
      assert.equal(r.evidence!.generation!.observed, false);
    } finally {
      writeFileSync(normal.configFile, JSON.stringify({ healthy: true }));
    }
  });

  test("a reload that leaves the service failing its health check is unhealthy", async () => {
    writeFileSync(normal.configFile, JSON.stringify({ healthy: false }));
    try {
      const r = await reload("web");
      assert.equal(outcomeToWord(r.outcome), "unhealthy", r.reason);
      assert.ok(r.evidence!.probes!.failed > 0);
      assert.match(r.evidence!.probes!.firstFailure, /status 503, expected 200/);
    } finally {
      writeFileSync(normal.configFile, JSON.stringify({ healthy: true }));
      assert.equal(outcomeToWord((await reload("web")).outcome), "reloaded");
    }
  });

  test("a 'reload' that re-executes the daemon under a new PID is restarted, a failure unless allowed", async () => {
    const oldPid = reexec.pid();
    const r = await reload("reexec");
    assert.equal(outcomeToWord(r.outcome), "restarted", r.reason);
    assert.equal(r.ok, false);
    assert.equal(r.evidence!.mainBefore!.pid, oldPid);
    assert.notEqual(r.evidence!.mainAfter!.pid, oldPid);
    assert.match(r.reason, /main PID changed/);

    // Allowed by the request but not by the service config: still a failure.
    const notAllowed = await reload("reexec", { allowRestart: true });
    assert.equal(outcomeToWord(notAllowed.outcome), "restarted");
    assert.equal(notAllowed.ok, false);
    // Allowed by both: restarted, and a success.
    const allowed = await reload("reexec-allowed", { allowRestart: true });
    assert.equal(outcomeToWord(allowed.outcome), "restarted");
    assert.equal(allowed.ok, true, allowed.reason);
  });

  test("without generation evidence a delivered, healthy reload is unverified, not a success", async () => {
    const before = (await weak.generation()).reloads;
    const r = await reload("weak");
    assert.equal(outcomeToWord(r.outcome), "unverified", r.reason);
    assert.equal(r.ok, false);
    assert.equal(r.evidence!.signalled, true);
    assert.equal((await weak.generation()).reloads, before + 1, "the signal did arrive");
    assert.equal(r.evidence!.generation!.source, "none");
    assert.match(r.reason, /nothing shows the service loaded the new config/);
    assert.match(r.evidence!.generation!.note, /no generation evidence declared/);
  });

  test("a check killed at command_timeout is failed (a timeout, not a verdict) and says so; nothing is signalled", async () => {
    const before = (await weak.generation()).reloads;
    const r = await reload("slowcheck");
    assert.equal(outcomeToWord(r.outcome), "failed", r.reason);
    assert.match(r.reason, /^config check gave no verdict \(timed out after 300 ms; its process group was killed\); nothing was signalled/);
    assert.doesNotMatch(r.reason, /exit -1/);
    assert.equal(r.evidence!.check!.timedOut, true);
    assert.equal(r.evidence!.signalled, false);
    assert.equal((await weak.generation()).reloads, before);
  });

  test("a service whose pidfile is missing is not_running, and nothing is signalled", async () => {
    const r = await reload("gone");
    assert.equal(outcomeToWord(r.outcome), "not_running");
    assert.equal(r.evidence!.signalled, false);
    assert.match(r.reason, /does not exist/);
  });

  test("the same request_id twice sends one signal and replays the first result", async () => {
    const before = (await normal.generation()).reloads;
    const [a, b] = await Promise.all([reload("web", { requestId: "same-id-1" }), reload("web", { requestId: "same-id-1" })]);
    const c = await reload("web", { requestId: "same-id-1" });
    assert.equal((await normal.generation()).reloads, before + 1, "exactly one SIGHUP");
    assert.deepEqual([a.replayed, b.replayed].sort(), [false, true]);
    assert.equal(c.replayed, true);
    assert.equal(c.outcome, a.outcome);
    assert.deepEqual(c.evidence, a.evidence);
    await assert.rejects(reload("weak", { requestId: "same-id-1" }), (err: AgentCallError) => err.code === status.INVALID_ARGUMENT);
  });

  test("an undeclared service is PERMISSION_DENIED and names what is declared", async () => {
    await assert.rejects(reload("sshd"), (err: AgentCallError) => {
      assert.equal(err.code, status.PERMISSION_DENIED);
      assert.match(err.message, /"sshd" is not declared/);
      assert.match(err.message, /web, deaf/);
      return true;
    });
    await assert.rejects(agent.client.status("sshd"), (err: AgentCallError) => err.code === status.PERMISSION_DENIED);
  });

  test("Status and Probe report the main process, probes and health", async () => {
    const s = await agent.client.status("web");
    assert.equal(s.services.length, 1);
    assert.equal(s.services[0]!.running, true);
    assert.equal(s.services[0]!.main!.pid, normal.pid());
    assert.equal(s.services[0]!.healthy, true);
    assert.ok(s.services[0]!.listenSocketInodes.length >= 1, "the listening socket is found through /proc");
    const all = await agent.client.status();
    assert.equal(all.services.find((x) => x.name === "gone")!.running, false);
    const p = await agent.client.probe("web");
    assert.equal(p.healthy, true);
    assert.equal(p.results.length, 2);
    rmSync(scratch.dir + "/nothing", { force: true });
  });
});

// `fleet agent ...` against a real agent: output, --json and exit codes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { freePort } from "../../common/free-port.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";

describe("fleet agent", () => {
  const scratch = scratchDir();
  let web: WebService, deaf: WebService;
  let agent: AgentHarness;

  before(async () => {
    [web, deaf] = await Promise.all([startWebService(scratch.dir, "web"), startWebService(scratch.dir, "deaf", "ignore-hup")]);
    const svc = (name: string, s: WebService) => `
  ${name}:
    reload: { signal: HUP, pidfile: ${s.pidfile} }
    generation: { http: "http://127.0.0.1:${s.port}/generation", json: generation }
    generation_timeout: 1s
    health: [{ http: "http://127.0.0.1:${s.port}/healthz" }]`;
    agent = await startAgent(`listen: 127.0.0.1:0\ninsecure: true\nservices:${svc("web", web)}${svc("deaf", deaf)}`);
  });
  after(async () => {
    await agent?.stop();
    await Promise.all([web?.stop(), deaf?.stop()]);
    scratch.remove();
  });

  test("reload --json prints the result with outcome as a lowercase word and exits 0", async () => {
    const r = await runFleet(["agent", "reload", agent.address, "web", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.outcome, "reloaded");
    assert.equal(out.ok, true);
    assert.equal(out.evidence.mainBefore.pid, web.pid());
    assert.equal(typeof out.evidence.probes.sent, "number");
  });

  test("a failed reload exits 1 and the human output shows the evidence", async () => {
    const r = await runFleet(["agent", "reload", agent.address, "deaf"]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /deaf: rejected/);
    assert.match(r.stdout, /generation: http NOT observed/);
    assert.match(r.stdout, /probes: +\d+ sent, 0 failed, 0 refused/);
  });

  test("describe, status and probe", async () => {
    const d = await runFleet(["agent", "describe", agent.address, "--json"]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(JSON.parse(d.stdout).services.map((s: { name: string }) => s.name), ["web", "deaf"]);
    const s = await runFleet(["agent", "status", agent.address, "web"]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, new RegExp(`web: running, healthy\\n  main pid ${web.pid()}`));
    const p = await runFleet(["agent", "probe", agent.address, "web", "--json"]);
    assert.equal(JSON.parse(p.stdout).healthy, true);
  });

  test("exit 3 when the agent is unreachable, exit 2 on a bad address, exit 1 on an undeclared service", async () => {
    const port = await freePort();
    const down = await runFleet(["agent", "describe", `127.0.0.1:${port}`, "--deadline", "2s"]);
    assert.equal(down.code, 3, down.stderr);
    assert.match(down.stderr, /unreachable/);
    const bad = await runFleet(["agent", "describe", "not an address"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ADDRESS must be HOST:PORT or unix:\/PATH/);
    const undeclared = await runFleet(["agent", "reload", agent.address, "sshd"]);
    assert.equal(undeclared.code, 1);
    assert.match(undeclared.stderr, /"sshd" is not declared/);
  });
});

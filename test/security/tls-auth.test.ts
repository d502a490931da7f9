// Mutual TLS between clients, controller and agents, with certificates made by
// `fleet certs` (the system's openssl), and per-RPC allow rules.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { createAgentClient, type AgentCallError, type AgentClient } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";

const opensslMissing = existsSync("/usr/bin/openssl") ? undefined : "openssl not installed";
if (opensslMissing) console.log(`# skipping TLS tests: ${opensslMissing}`);

describe("mutual TLS and authorization", { skip: opensslMissing }, () => {
  const scratch = scratchDir();
  const tls = path.join(scratch.dir, "tls");
  const other = path.join(scratch.dir, "other-ca");
  let web: WebService;
  let agent: AgentHarness;
  let wrongName: AgentHarness;
  const clients: AgentClient[] = [];
  const files = (dir: string, base: string) => ({ ca: readFileSync(path.join(dir, "ca.crt")), cert: readFileSync(path.join(dir, `${base}.crt`)), key: readFileSync(path.join(dir, `${base}.key`)) });
  const client = (address: string, creds?: ReturnType<typeof files>) => {
    const c = createAgentClient(address, { tls: creds, deadlineMs: 3000 });
    clients.push(c);
    return c;
  };
  const reload = (c: AgentClient, id: string) => c.reload({ requestId: id, service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });

  before(async () => {
    for (const args of [["init", "--dir", tls], ["issue", "--dir", tls, "--agent", "127.0.0.1"], ["issue", "--dir", tls, "--agent", "10.99.0.9"], ["issue", "--dir", tls, "--controller", "controller"], ["issue", "--dir", tls, "--operator", "monitoring"], ["init", "--dir", other], ["issue", "--dir", other, "--controller", "controller"]]) {
      const r = await runFleet(["certs", ...args]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    web = await startWebService(scratch.dir, "web");
    const service = `services:
  web:
    reload: { signal: HUP, pidfile: ${web.pidfile} }
    generation: { http: "http://127.0.0.1:${web.port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${web.port}/healthz" }]
    healthy_for: 100ms`;
    const tlsYaml = (host: string) => `listen: 127.0.0.1:0
tls:
  cert: ${tls}/agent-${host}.crt
  key: ${tls}/agent-${host}.key
  ca: ${tls}/ca.crt
  allow: { Reload: [controller], PushConfig: [controller], RollbackConfig: [controller], Status: [controller, monitoring], Describe: ["*"], Probe: ["*"] }
${service}`;
    agent = await startAgent(tlsYaml("127.0.0.1"));
    // An agent whose certificate names another host than the address the controller dials.
    wrongName = await startAgent(tlsYaml("10.99.0.9"));
  });
  after(async () => {
    clients.forEach((c) => c.close());
    await agent?.stop();
    await wrongName?.stop();
    await web?.stop();
    scratch.remove();
  });

  test("no certificate, a certificate from another CA: refused and nothing reloaded; the controller's certificate works", async () => {
    const before = (await web.generation()).reloads;
    await assert.rejects(reload(client(agent.address), "tls-1"), (e: AgentCallError) => e.code === status.UNAVAILABLE);
    await assert.rejects(reload(client(agent.address, { ...files(other, "controller-controller"), ca: readFileSync(path.join(tls, "ca.crt")) }), "tls-2"), (e: AgentCallError) => e.code === status.UNAVAILABLE);
    // A client that trusts the fleet CA but presents no certificate at all.
    await assert.rejects(
      reload(createAgentClient(agent.address, { tls: { ca: readFileSync(path.join(tls, "ca.crt")), cert: undefined as unknown as Buffer, key: undefined as unknown as Buffer } }), "tls-3"),
      (e: AgentCallError) => e.code === status.UNAVAILABLE,
    );
    assert.equal((await web.generation()).reloads, before, "nothing reloaded");
    const ok = await reload(client(agent.address, files(tls, "controller-controller")), "tls-ok");
    assert.equal(outcomeToWord(ok.outcome), "reloaded", ok.reason);
    assert.equal((await web.generation()).reloads, before + 1);
  });

  test("an operator not allowed Reload can still call Status", async () => {
    const monitor = client(agent.address, files(tls, "operator-monitoring"));
    const s = await monitor.status("web");
    assert.equal(s.services[0]!.running, true);
    await assert.rejects(reload(monitor, "tls-mon"), (e: AgentCallError) => {
      assert.equal(e.code, status.PERMISSION_DENIED);
      assert.match(e.message, /client monitoring may not call Reload \(tls\.allow\.Reload: controller\)/);
      return true;
    });
  });

  test("DiffConfig follows tls.allow.PushConfig when it has no list of its own", async () => {
    const diff = (c: AgentClient) => c.diffConfig({ service: "web", files: [{ path: "/etc/fleet-13a-none.conf", content: Buffer.from("x"), sha256: "0".repeat(64) }] });
    await assert.rejects(diff(client(agent.address, files(tls, "operator-monitoring"))), (e: AgentCallError) => {
      assert.equal(e.code, status.PERMISSION_DENIED);
      assert.match(e.message, /client monitoring may not call DiffConfig \(tls\.allow\.PushConfig, which DiffConfig follows: controller\)/);
      return true;
    });
    // The controller is allowed: it gets as far as the path check.
    await assert.rejects(diff(client(agent.address, files(tls, "controller-controller"))), (e: AgentCallError) => e.code === status.PERMISSION_DENIED && /is not a config path of service web/.test(e.message));
  });

  test("the controller refuses an agent whose certificate is for another host name", async () => {
    const inv = writeInventory(
      scratch.dir,
      `  good:\n    service: web\n    hosts: [${agent.address}]\n  impostor:\n    service: web\n    hosts: [${wrongName.address}]\n`,
      `tls: { cert: ${tls}/controller-controller.crt, key: ${tls}/controller-controller.key, ca: ${tls}/ca.crt }\n`,
    );
    const controller: ControllerHarness = await startController(inv);
    try {
      const env = { FLEET_CONTROLLER: controller.address };
      const before = (await web.generation()).reloads;
      const bad = await runFleet(["reload", "impostor", "--json"], env);
      // The preflight asks it first and refuses the rollout (unreachable: exit 3) before any host is touched.
      assert.equal(bad.code, 3, bad.stdout + bad.stderr);
      const host = bad.stdout.trim().split("\n").map((l) => JSON.parse(l)).find((e) => e.kind === "preflight_failed");
      assert.equal(host.outcome, "unreachable");
      assert.match(host.message, /certificate|altnames|IP: 127\.0\.0\.1 is not in the cert's list/i);
      assert.equal((await web.generation()).reloads, before, "the impostor was never asked to reload");
      const good = await runFleet(["reload", "good"], env);
      assert.equal(good.code, 0, good.stdout + good.stderr);
      const shown = JSON.parse((await runFleet(["history", "--json", "--limit", "1"], env)).stdout);
      assert.match(shown.requestedBy, /@/, "every rollout records who asked");
    } finally {
      await controller.stop();
    }
  });
});

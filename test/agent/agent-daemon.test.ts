// The fleet-agent daemon itself: exit codes, SIGHUP config reload, SIGTERM.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { createAgentClient, type AgentCallError } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { runAgent, spawnAgent } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";
import { waitFor } from "../helpers/wait-for.js";

describe("fleet-agent daemon", () => {
  const scratch = scratchDir();
  let web: WebService;
  const file = (name: string, text: string) => {
    const f = path.join(scratch.dir, name);
    writeFileSync(f, text);
    return f;
  };
  const webService = (name: string, extra = "") => `
  ${name}:
    reload: { signal: HUP, pidfile: ${web.pidfile} }
    generation: { http: "http://127.0.0.1:${web.port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${web.port}/healthz" }]
${extra}`;

  before(async () => {
    web = await startWebService(scratch.dir, "web");
  });
  after(async () => {
    await web?.stop();
    scratch.remove();
  });

  test("an invalid config exits 2 and lists every problem with its field path and line", async () => {
    const bad = file("bad.yaml", `listen: nowhere
insecure: true
services:
  web:
    reload: { signal: TERM, pidfile: relative.pid }
`);
    const r = await runAgent(["--config", bad]);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /bad\.yaml: 3 problems/);
    assert.match(r.output, /line 1: listen: must be HOST:PORT/);
    assert.match(r.output, /line 5: services\.web\.reload\.signal: must be one of HUP, USR1, USR2, WINCH/);
    assert.match(r.output, /line 5: services\.web\.reload\.pidfile: must be an absolute path/);
  });

  test("without tls, a token or insecure: true the agent refuses to start and says how to fix it", async () => {
    const r = await runAgent(["--config", file("noauth.yaml", `services:${webService("web")}`)]);
    assert.equal(r.code, 2);
    assert.match(r.output, /no authentication configured: set tls: \{cert, key, ca\}.*auth: \{token_file.*insecure: true/);
  });

  test("SIGHUP reloads the agent's own config; an invalid new config is refused and the old one kept", async () => {
    const conf = file("hup.yaml", `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${scratch.dir}/state\nservices:${webService("web")}`);
    const agent = await spawnAgent(conf);
    const client = createAgentClient(agent.address);
    try {
      assert.deepEqual((await client.describe()).services.map((s) => s.name), ["web"]);
      writeFileSync(conf, `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${scratch.dir}/state\nservices:${webService("web")}${webService("web2")}`);
      agent.child.kill("SIGHUP");
      await waitFor("the new service to appear", async () => (await client.describe()).services.length === 2);

      writeFileSync(conf, `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${scratch.dir}/state\nservices:\n  web3:\n    reload: { signal: BOGUS }\n`);
      agent.child.kill("SIGHUP");
      await waitFor("the refusal to be logged", () => agent.output().includes("config reload refused"));
      assert.match(agent.output(), /services\.web3\.reload\.signal: must be one of/);
      assert.deepEqual((await client.describe()).services.map((s) => s.name), ["web", "web2"], "old config kept");
      assert.equal(outcomeToWord((await client.reload({ requestId: "after-bad-hup", service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 })).outcome), "reloaded");
    } finally {
      client.close();
      agent.child.kill("SIGTERM");
      assert.equal(await agent.exited(), 0);
    }
  });

  test("SIGTERM during a reload: the reload finishes and is reported, then the agent exits 0", async () => {
    const conf = file("term.yaml", `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${scratch.dir}/state\nservices:${webService("web", "    healthy_for: 1500ms")}`);
    const agent = await spawnAgent(conf);
    const client = createAgentClient(agent.address);
    try {
      const before = (await web.generation()).reloads;
      const pending = client.reload({ requestId: "during-term", service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
      await waitFor("the reload to start", () => agent.output().includes("reload started"));
      agent.child.kill("SIGTERM");
      const r = await pending;
      assert.equal(outcomeToWord(r.outcome), "reloaded", r.reason);
      assert.equal((await web.generation()).reloads, before + 1);
      assert.equal(await agent.exited(), 0);
      assert.match(agent.output(), /"reloads_finished_during_shutdown":1/);
      await assert.rejects(client.describe({ deadlineMs: 1000 }), (err: AgentCallError) => err.unreachable && err.code === status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  test("token mode: no token or a wrong one is UNAUTHENTICATED and nothing is reloaded; the right one works", async () => {
    const token = file("agent.token", "s3cret-token-0123456789abcdef\n");
    const conf = file("token.yaml", `listen: 127.0.0.1:0\nauth: { token_file: ${token} }\nstate_dir: ${scratch.dir}/state\nservices:${webService("web")}`);
    const agent = await spawnAgent(conf);
    const clients = [createAgentClient(agent.address), createAgentClient(agent.address, { token: "wrong-token-0123456789abcdef" }), createAgentClient(agent.address, { token: "s3cret-token-0123456789abcdef" })];
    try {
      const before = (await web.generation()).reloads;
      for (const [i, c] of clients.slice(0, 2).entries()) {
        await assert.rejects(c.reload({ requestId: `tok-${i}`, service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 }), (err: AgentCallError) => err.code === status.UNAUTHENTICATED);
      }
      assert.equal((await web.generation()).reloads, before, "nothing reloaded");
      const ok = await clients[2]!.reload({ requestId: "tok-ok", service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
      assert.equal(outcomeToWord(ok.outcome), "reloaded");
      assert.match(agent.output(), /"msg":"request refused","rpc":"Reload","peer":"127\.0\.0\.1:\d+","kind":"unauthenticated"/);
    } finally {
      clients.forEach((c) => c.close());
      agent.child.kill("SIGTERM");
      await agent.exited();
    }
  });
});

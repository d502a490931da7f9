// A client certificate that tls.allow limits to reading (Status) cannot Fence: Fence follows the
// Reload/PushConfig/RollbackConfig lists unless it has its own, so a monitoring certificate can
// neither lock the real controller out with a huge epoch nor fill the agent's identity slots.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { createAgentClient, type AgentClient } from "../../common/agent-client.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";

const opensslMissing = existsSync("/usr/bin/openssl") ? undefined : "openssl not installed";

describe("Fence obeys tls.allow", { skip: opensslMissing }, () => {
  const scratch = scratchDir("attack-fence-");
  const tls = path.join(scratch.dir, "tls");
  let web: WebService;
  let agent: AgentHarness;
  const clients: AgentClient[] = [];
  const files = (base: string) => ({ ca: readFileSync(path.join(tls, "ca.crt")), cert: readFileSync(path.join(tls, `${base}.crt`)), key: readFileSync(path.join(tls, `${base}.key`)) });
  const as = (cert: string, controllerId: string, takeover: number, start: number) => {
    const c = createAgentClient(agent.address, { tls: files(cert), deadlineMs: 3000, fencing: { controllerId, epoch: { takeover, start } } });
    clients.push(c);
    return c;
  };
  const codeOf = (p: Promise<unknown>) => p.then(() => status.OK, (e: { code?: number }) => e.code);

  before(async () => {
    for (const args of [["init", "--dir", tls], ["issue", "--dir", tls, "--agent", "127.0.0.1"], ["issue", "--dir", tls, "--controller", "controller"], ["issue", "--dir", tls, "--operator", "monitoring"]]) {
      const r = await runFleet(["certs", ...args]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    web = await startWebService(scratch.dir, "web");
    agent = await startAgent(`listen: 127.0.0.1:0
state_dir: ${path.join(scratch.dir, "state")}
limits: { mutations_per_second: 1000 }
tls:
  cert: ${tls}/agent-127.0.0.1.crt
  key: ${tls}/agent-127.0.0.1.key
  ca: ${tls}/ca.crt
  allow: { Reload: [controller], PushConfig: [controller], RollbackConfig: [controller], Status: [controller, monitoring], Describe: ["*"], Probe: ["*"] }
services:
  web:
    reload: { signal: HUP, pidfile: ${web.pidfile} }
    generation: { http: "http://127.0.0.1:${web.port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${web.port}/healthz" }]
    healthy_for: 100ms
`);
  });
  after(async () => {
    clients.forEach((c) => c.close());
    await agent?.stop();
    await web?.stop();
    scratch.remove();
  });

  test("a certificate allowed only Status cannot fence the real controller out", async () => {
    const poison = await codeOf(as("operator-monitoring", "ctl0beef", 999_999_999_999_999, 999_999_999_999_999).fence());
    const real = await codeOf(as("controller-controller", "ctl0beef", 1, 1).reload({ requestId: "real-1", service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 }));
    assert.deepEqual({ poison, real }, { poison: status.PERMISSION_DENIED, real: status.OK });
  });

  test("a certificate allowed only Status cannot fill the agent's controller identities", async () => {
    for (let i = 0; i < 70; i++) {
      const c = as("operator-monitoring", `junk${i}`, 0, 1);
      await codeOf(c.fence());
      c.close();
    }
    const fresh = await codeOf(as("controller-controller", "newctl01", 0, 1).fence());
    assert.equal(fresh, status.OK, "a new controller must not be refused because a read-only client filled the file");
  });
});

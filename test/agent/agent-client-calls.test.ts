// The agent client's calls, made on the gRPC channel directly: answers decoded, the token carried
// by every call (one Metadata per client, reused), refusals and transport failures turned into
// AgentCallError with the agent's own words, and every call bounded by its deadline or cancelled
// by its signal.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { AgentCallError, createAgentClient } from "../../common/agent-client.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "fleet-client-calls-"));
// A service process that takes HUP and does nothing (its reloads are unverified).
const deaf = spawn(process.execPath, ["-e", "process.on('SIGHUP', () => {}); setInterval(() => {}, 1e9)"], { stdio: "ignore" });
let agent: AgentHarness;
// Accepts connections and never speaks: a call to it can only end by its deadline or its signal.
const accepted = new Set<net.Socket>();
const silent = net.createServer((socket) => accepted.add(socket));
let silentAddress = "";

before(async () => {
  writeFileSync(path.join(dir, "svc.pid"), `${deaf.pid}\n`);
  writeFileSync(path.join(dir, "token"), "s3cret-token-0123456789\n");
  writeFileSync(path.join(dir, "svc.conf"), "x\n");
  agent = await startAgent(
    `listen: 127.0.0.1:0\nauth: { token_file: ${path.join(dir, "token")} }\nlimits: { mutations_per_second: 1000 }\nstate_dir: ${path.join(dir, "state")}\nservices:\n  svc:\n    reload: { signal: HUP, pidfile: ${path.join(dir, "svc.pid")} }\n    generation: none\n    healthy_for: 0ms\n    configs: [{ path: ${path.join(dir, "svc.conf")}, mode: "0644", owner: root }]\n`,
    { token: "s3cret-token-0123456789", deadlineMs: 5000 },
  );
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  silentAddress = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
});

after(async () => {
  await agent?.stop();
  for (const socket of accepted) socket.destroy();
  silent.close();
  deaf.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("answers are decoded, and the token goes with every call, many at once on one client", async () => {
  const d = await agent.client.describe();
  assert.deepEqual(d.services.map((s) => [s.name, s.configPaths]), [["svc", [path.join(dir, "svc.conf")]]]);
  const many = await Promise.all(Array.from({ length: 50 }, () => agent.client.status("svc")));
  assert.ok(many.every((s) => s.services[0]?.name === "svc" && s.services[0].running && s.services[0].configs[0]?.exists));
  const r = await agent.client.reload({ requestId: "client-calls-1", service: "svc", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
  assert.equal(r.requestId, "client-calls-1");
  assert.equal(r.service, "svc");
});

test("a refusal is an AgentCallError with the agent's words and code, not unreachable", async () => {
  const err = await agent.client.status("nosuch").then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof AgentCallError);
  assert.equal(err.code, status.PERMISSION_DENIED);
  assert.equal(err.unreachable, false);
  assert.match(err.message, /^Status on 127\.0\.0\.1:\d+: service "nosuch" is not declared in this agent's config; declared: svc$/);
  const wrong = createAgentClient(agent.address, { token: "not-the-token" });
  try {
    const denied = await wrong.describe().then(() => undefined, (e: unknown) => e);
    assert.ok(denied instanceof AgentCallError);
    assert.equal(denied.code, status.UNAUTHENTICATED);
    assert.match(String((denied.cause as Error).message), /^16 UNAUTHENTICATED: /, "the cause reads like grpc-js's own errors");
  } finally {
    wrong.close();
  }
});

test("an agent that does not answer costs the deadline, and a signal cancels a call", async () => {
  const c = createAgentClient(silentAddress, { deadlineMs: 300 });
  try {
    const timedOut = await c.status("svc").then(() => undefined, (e: unknown) => e);
    assert.ok(timedOut instanceof AgentCallError);
    assert.equal(timedOut.unreachable, true);
    assert.ok(timedOut.code === status.DEADLINE_EXCEEDED || timedOut.code === status.UNAVAILABLE, `code ${timedOut.code}`);
    const abort = new AbortController();
    const pending = c.reload({ requestId: "never", service: "svc", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 }, { deadlineMs: 60_000, signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    const cancelled = await pending.then(() => undefined, (e: unknown) => e);
    assert.ok(cancelled instanceof AgentCallError);
    assert.equal(cancelled.code, status.CANCELLED);
  } finally {
    c.close();
  }
});

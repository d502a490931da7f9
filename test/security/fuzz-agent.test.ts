// Hostile input: malformed and random protobuf payloads and out-of-range fields
// at every agent RPC. The agent must answer each with a status and keep serving.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { credentials, makeGenericClientConstructor, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { DiffConfigRequest, PushConfigRequest, ReloadRequest, RollbackConfigRequest, StatusRequest } from "../../proto/gen/fleet/agent/v1/agent.js";
import { HealthCheckResponse_ServingStatus, HealthClient } from "../../proto/gen/grpc/health/v1/health.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";

const METHODS = ["Describe", "Status", "Reload", "Probe", "PushConfig", "RollbackConfig", "DiffConfig"];
const scratch = scratchDir();
let web: WebService;
let agent: AgentHarness;

before(async () => {
  web = await startWebService(scratch.dir, "web");
  agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
limits: { max_message_bytes: 65536, mutations_per_second: 100000 }
services:
  web:
    reload: { signal: HUP, pidfile: ${web.pidfile} }
    generation: { http: "http://127.0.0.1:${web.port}/generation", json: generation }
    configs: [{ path: ${web.configFile} }]
`);
});
after(async () => {
  await agent?.stop();
  await web?.stop();
  scratch.remove();
});

/** A client that sends raw bytes to any agent method. */
function rawClient(address: string) {
  const identity = (b: Buffer) => b;
  const def = Object.fromEntries(
    METHODS.map((m) => [m, { path: `/fleet.agent.v1.AgentService/${m}`, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity }]),
  );
  const Client = makeGenericClientConstructor(def, "Raw");
  const c = new Client(address, credentials.createInsecure()) as unknown as Record<string, (req: Buffer, md: Metadata, opts: object, cb: (err: ServiceError | null, res?: Buffer) => void) => void> & { close(): void };
  const call = (method: string, payload: Buffer) =>
    new Promise<{ code: number; details: string }>((resolve) =>
      c[method]!(payload, new Metadata(), { deadline: Date.now() + 5000 }, (err) => resolve({ code: err ? err.code : status.OK, details: err?.details ?? "" })),
    );
  return { call, close: () => c.close() };
}

/** Payloads: random bytes, truncated or corrupted valid messages, and valid messages with hostile fields. */
function* payloads(n: number): Generator<Buffer> {
  const valid = [
    ReloadRequest.encode({ requestId: "r", service: "web", allowRestart: false, generationTimeoutMs: 1, healthyForMs: 1 }).finish(),
    PushConfigRequest.encode(PushConfigRequest.fromPartial({ requestId: "p", service: "web", path: "/etc/passwd", content: Buffer.from("x"), sha256: "0", allowRestart: true })).finish(),
    StatusRequest.encode({ service: "web", runningOnly: false }).finish(),
    StatusRequest.encode({ service: "web", runningOnly: true }).finish(),
  ].map((b) => Buffer.from(b));
  const hostile = [
    ReloadRequest.encode({ requestId: "x".repeat(5000), service: "web", allowRestart: true, generationTimeoutMs: 4294967295, healthyForMs: 4294967295 }).finish(),
    ReloadRequest.encode({ requestId: "bad id with spaces", service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 }).finish(),
    ReloadRequest.encode({ requestId: "ok-id", service: "../../etc", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 }).finish(),
    PushConfigRequest.encode(PushConfigRequest.fromPartial({ requestId: "p2", service: "web", path: "/tmp/\0evil", content: Buffer.alloc(0), sha256: "", allowRestart: false })).finish(),
    PushConfigRequest.encode(PushConfigRequest.fromPartial({ requestId: "p3", service: "web", path: `${"/a".repeat(2000)}`, content: Buffer.alloc(10), sha256: "z".repeat(64), allowRestart: false })).finish(),
    PushConfigRequest.encode(PushConfigRequest.fromPartial({ requestId: "p4", service: "web", path: "/", content: Buffer.alloc(70_000), sha256: "", allowRestart: false })).finish(),
    RollbackConfigRequest.encode(RollbackConfigRequest.fromPartial({ requestId: "rb", service: "web", path: "/etc/shadow", sha256: "../../../../etc/shadow", allowRestart: false })).finish(),
    StatusRequest.encode({ service: "\u0000\uffff".repeat(100), runningOnly: true }).finish(),
    // Sets: a path twice, a path outside, both forms at once, a removal of /etc/passwd, a diff of a huge claimed cap.
    PushConfigRequest.encode(PushConfigRequest.fromPartial({ requestId: "s1", service: "web", files: [{ path: "/etc/passwd", content: Buffer.from("x"), sha256: "" }, { path: "/etc/passwd", content: Buffer.from("y"), sha256: "" }] })).finish(),
    PushConfigRequest.encode(PushConfigRequest.fromPartial({ requestId: "s2", service: "web", path: "/etc/hosts", files: [{ path: "", content: Buffer.alloc(0), sha256: "" }] })).finish(),
    RollbackConfigRequest.encode(RollbackConfigRequest.fromPartial({ requestId: "s3", service: "web", files: [{ path: "/etc/passwd", sha256: "" }] })).finish(),
    DiffConfigRequest.encode(DiffConfigRequest.fromPartial({ service: "web", maxDiffBytes: 4294967295, files: [{ path: "/etc/shadow", content: Buffer.from("x"), sha256: "" }] })).finish(),
    DiffConfigRequest.encode(DiffConfigRequest.fromPartial({ service: "web", files: Array.from({ length: 500 }, () => ({ path: "/a/../../etc/shadow", content: Buffer.alloc(0), sha256: "" })) })).finish(),
  ].map((b) => Buffer.from(b));
  for (const h of hostile) yield h;
  for (let i = 0; i < n; i++) {
    const kind = i % 4;
    if (kind === 0) yield randomBytes(Math.floor(Math.random() * 200));
    else if (kind === 1) {
      const v = valid[i % valid.length]!;
      yield v.subarray(0, Math.floor(Math.random() * v.length)); // truncated
    } else if (kind === 2) {
      const v = Buffer.from(valid[i % valid.length]!);
      for (let j = 0; j < 3 && v.length; j++) v[Math.floor(Math.random() * v.length)] = Math.floor(Math.random() * 256); // corrupted
      yield v;
    } else {
      // Wire-level nonsense: huge length prefixes, unknown fields, bad wire types.
      yield Buffer.concat([Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]), randomBytes(8)]);
    }
  }
}

test("thousands of malformed, random and out-of-range requests: every one answered, the agent still healthy", async () => {
  const raw = rawClient(agent.address);
  const codes = new Map<number, number>();
  let calls = 0;
  const before = (await web.generation()).reloads;
  try {
    for (const payload of payloads(3000)) {
      const method = METHODS[calls % METHODS.length]!;
      const r = await raw.call(method, payload);
      codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
      calls++;
      assert.notEqual(r.code, status.DEADLINE_EXCEEDED, `${method} with ${payload.toString("hex").slice(0, 80)} hung`);
      assert.notEqual(r.code, status.UNAVAILABLE, `the agent went away after ${method} ${payload.toString("hex").slice(0, 80)}`);
      // INTERNAL is grpc-js refusing bytes it cannot decode; from our handlers it would mean an unexpected exception.
      if (r.code === status.INTERNAL) assert.match(r.details, /deserializ|parse/i, `${method} ${payload.toString("hex").slice(0, 80)}: ${r.details}`);
    }
  } finally {
    raw.close();
  }
  assert.ok(calls > 3000, `${calls} calls`);
  const summary = [...codes].map(([c, n]) => `${status[c]}=${n}`).join(" ");
  console.log(`fuzz: ${calls} calls: ${summary}`);
  assert.ok((codes.get(status.INVALID_ARGUMENT) ?? 0) + (codes.get(status.PERMISSION_DENIED) ?? 0) + (codes.get(status.INTERNAL) ?? 0) > 0, summary);

  // Still serving: Describe, the health service, and a real reload.
  const d = await agent.client.describe();
  assert.deepEqual(d.services.map((s) => s.name), ["web"]);
  const health = new HealthClient(agent.address, credentials.createInsecure());
  const h = await new Promise<number>((resolve, reject) => health.check({ service: "" }, (err: ServiceError | null, res?: { status: number }) => (err ? reject(err) : resolve(res!.status))));
  health.close();
  assert.equal(h, HealthCheckResponse_ServingStatus.SERVING);
  assert.ok((await web.generation()).reloads - before <= 5, "random input almost never forms a valid reload");
  const ok = await agent.client.reload({ requestId: "after-fuzz", service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
  assert.ok(ok.ok, ok.reason);
});

test("a caller over limits.mutations_per_second gets RESOURCE_EXHAUSTED; reads are not limited", async () => {
  const limited = await startAgent(`listen: 127.0.0.1:0\ninsecure: true\nlimits: { mutations_per_second: 5 }\nservices:\n  web:\n    reload: { signal: HUP, pidfile: ${scratch.dir}/none.pid }\n`);
  try {
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => limited.client.reload({ requestId: `rl-${i}`, service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 })));
    const exhausted = results.filter((r) => r.status === "rejected" && (r.reason as { code: number }).code === status.RESOURCE_EXHAUSTED).length;
    assert.ok(exhausted >= 15, `${exhausted} of 30 refused`);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 30 - exhausted);
    for (let i = 0; i < 20; i++) await limited.client.describe();
  } finally {
    await limited.stop();
  }
});

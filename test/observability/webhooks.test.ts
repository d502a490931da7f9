// Webhooks from a real controller to local HTTP receivers: signed deliveries,
// retries with backoff, a receiver that never answers does not hold up the
// rollout, and every attempt shows in `fleet show`.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { startLocalFleet } from "../helpers/local-fleet.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const SECRET = "a-webhook-secret-of-32-bytes-abc";

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}

interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** `answer` gives the status for the n-th request (1-based), or "never" to leave it unanswered. */
async function startReceiver(answer: (n: number) => number | "never"): Promise<Receiver> {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      const status = answer(received.length);
      if (status !== "never") res.writeHead(status).end();
    });
  });
  server.on("connection", (s) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

function verified(r: Received): { event: string; delivery_id: string; rollout: { id: number; state: string } } {
  const expected = `sha256=${createHmac("sha256", SECRET).update(`${r.headers["x-fleet-timestamp"]}.${r.body}`).digest("hex")}`;
  assert.equal(r.headers["x-fleet-signature-256"], expected, "signature over the timestamp and the body");
  const body = JSON.parse(r.body) as { event: string; delivery_id: string; rollout: { id: number; state: string } };
  assert.equal(r.headers["x-fleet-delivery"], body.delivery_id);
  assert.equal(r.headers["x-fleet-event"], body.event);
  assert.ok(Math.abs(Number(r.headers["x-fleet-timestamp"]) - Date.now() / 1000) < 120, "timestamp header");
  assert.equal(r.headers["content-type"], "application/json");
  return body;
}

describe("webhooks", () => {
  const scratch = scratchDir();
  let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
  let controller: ControllerHarness;
  let good: Receiver;
  let flaky: Receiver;
  let silent: Receiver;
  let rolloutId: number;
  let rolloutMs: number;

  before(async () => {
    [good, flaky, silent] = await Promise.all([startReceiver(() => 200), startReceiver((n) => (n <= 2 ? 500 : 200)), startReceiver(() => "never")]);
    fleet = await startLocalFleet(scratch.dir, 3, "w");
    const secretFile = path.join(scratch.dir, "webhook.secret");
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const file = writeInventory(
      scratch.dir,
      `  web:\n    service: web\n    hosts: [${fleet.hosts.map((h) => h.address).join(", ")}]\n    policy: { canary: 1, batch: 2 }\n  other:\n    service: web\n    hosts: [${fleet.hosts[0]!.address}]\n`,
      `webhooks:
  - { name: good, url: "${good.url}", secret_file: ${secretFile}, groups: [web] }
  - { name: flaky, url: "${flaky.url}", secret_file: ${secretFile}, events: [halted] }
  - { name: silent, url: "${silent.url}", secret_file: ${secretFile}, events: [started], timeout: 2s, deadline: 8s }
`,
    );
    controller = await startController(file);
    // The canary reloads into a config that fails its health check: the rollout halts.
    fleet.hosts[0]!.setHealthy(false);
    const r = await runFleet(["reload", "web", "--yes", "--json"], { FLEET_CONTROLLER: controller.address });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const finished = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { kind: string; rollout?: { id: string; createdAtMs: string; finishedAtMs: string } }).find((e) => e.kind === "finished")!;
    rolloutId = Number(finished.rollout!.id);
    rolloutMs = Number(finished.rollout!.finishedAtMs) - Number(finished.rollout!.createdAtMs);
  });

  after(async () => {
    await controller?.stop();
    await fleet?.stop();
    await Promise.all([good, flaky, silent].map((r) => r?.close()));
    scratch.remove();
  });

  test("a halted rollout: exactly one started and one halted delivery, each signed", async () => {
    await waitFor("two deliveries", () => good.received.length >= 2, 15_000);
    await new Promise((r) => setTimeout(r, 500)); // nothing more arrives
    assert.equal(good.received.length, 2);
    const [started, halted] = good.received.map(verified);
    assert.equal(started!.event, "started");
    assert.equal(halted!.event, "halted");
    assert.equal(halted!.rollout.id, rolloutId);
    assert.equal(halted!.rollout.state, "failed");
    assert.notEqual(started!.delivery_id, halted!.delivery_id);
  });

  test("a receiver answering 500 twice gets the delivery on the third attempt", async () => {
    await waitFor("the third attempt", () => flaky.received.length >= 3, 20_000);
    const bodies = flaky.received.map(verified);
    assert.equal(new Set(bodies.map((b) => b.delivery_id)).size, 1, "one delivery, retried with the same id");
    assert.equal(bodies[0]!.event, "halted");
    await waitFor("the attempt to be recorded", () => controller.observability.deliveries(rolloutId).some((d) => d.endpoint === "flaky" && d.result === "delivered"));
    const attempts = controller.observability.deliveries(rolloutId).filter((d) => d.endpoint === "flaky");
    assert.deepEqual(attempts.map((a) => [a.attempt, a.result, a.httpStatus]), [[1, "failed", 500], [2, "failed", 500], [3, "delivered", 200]]);
  });

  test("a receiver that never answers does not hold up the rollout; its failed delivery is in fleet show", async () => {
    assert.ok(rolloutMs < 8000, `the rollout took ${rolloutMs}ms, longer than the silent endpoint's 8s deadline`);
    await waitFor("the silent delivery to be given up", () => controller.observability.deliveries(rolloutId).some((d) => d.endpoint === "silent" && d.result === "gave_up"), 20_000);
    const show = await runFleet(["show", String(rolloutId)], { FLEET_CONTROLLER: controller.address });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /webhooks:/);
    assert.match(show.stdout, /silent started attempt \d+: gave_up \(no answer within \d+ms\)/);
    assert.match(show.stdout, /flaky halted attempt 3: delivered HTTP 200/);
    assert.match(show.stdout, /good halted attempt 1: delivered HTTP 200/);
    const json = JSON.parse((await runFleet(["show", String(rolloutId), "--json"], { FLEET_CONTROLLER: controller.address })).stdout) as { webhookDeliveries: { endpoint: string; result: string }[] };
    assert.ok(json.webhookDeliveries.some((d) => d.endpoint === "silent" && d.result === "gave_up"));
  });

  test("the group filter: a rollout of another group reaches only the endpoints without one", async () => {
    const before = good.received.length;
    fleet.hosts[0]!.setHealthy(true);
    const r = await runFleet(["reload", "other", "--yes", "--json"], { FLEET_CONTROLLER: controller.address });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await waitFor("the silent endpoint's attempt", () => silent.received.some((x) => JSON.parse(x.body).rollout.group === "other"), 10_000);
    assert.equal(good.received.length, before, "good only wants group web");
  });
});

// A webhook receiver that accepts the connection and never answers is given up after the
// per-attempt timeout, also once garbage collections have run (on Node 20 an
// AbortSignal.timeout() held only by AbortSignal.any() can be collected and never fire).
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import { postJson } from "../../controller/webhooks/post-json.js";
import { WebhookDispatcher } from "../../controller/webhooks/webhook-dispatcher.js";
import type { DeliveryAttempt } from "../../controller/webhooks/delivery-log.js";
import type { RolloutRecord } from "../../controller/history/history-store.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("a silent webhook receiver while garbage is collected", () => {
  let server: Server;
  let url: string;
  const sockets = new Set<Socket>();
  let gcTimer: NodeJS.Timeout;

  before(async () => {
    // Reads the request, never answers.
    server = createServer((req) => void req.resume());
    server.on("connection", (s) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    // A busy controller collects garbage all the time; do it on purpose here.
    gcTimer = setInterval(gc, 100);
  });

  after(async () => {
    clearInterval(gcTimer);
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => server.close(() => r()));
  });

  test("postJson gives up after its timeout", async () => {
    const t0 = Date.now();
    const result = await Promise.race([
      postJson(url, "{}", {}, 500, new AbortController().signal),
      new Promise<"hung">((r) => setTimeout(() => r("hung"), 5000).unref()),
    ]);
    assert.notEqual(result, "hung", "postJson with a 500ms timeout was still waiting after 5s");
    assert.ok(Date.now() - t0 < 3000);
  });

  test("the dispatcher records a gave_up attempt within the endpoint's deadline", async () => {
    const attempts: DeliveryAttempt[] = [];
    const d = new WebhookDispatcher({ log: { record: (a) => attempts.push(a), forRollout: () => [] }, logger: silentLogger, backoffBaseMs: 100 });
    d.configure([{ name: "silent", url, events: ["started"], groups: [], format: "json", secret: Buffer.from("0123456789abcdef0123"), timeoutMs: 300, deadlineMs: 1500 }], []);
    const rollout = { id: 1, group: "web", kind: "reload", service: "web", state: "running", schedule: "", summary: "", reason: "", requestedBy: "t", hostsTotal: 1, hostsOk: 0, hostsFailed: 0, hostsSkipped: 0 } as unknown as RolloutRecord;
    d.rolloutEvent({ rolloutId: 1, kind: "started", host: "", batch: 0, canary: false, outcome: "", ok: true, message: "m", at: Date.now() }, rollout);
    const deadline = Date.now() + 6000;
    while (Date.now() < deadline && !attempts.some((a) => a.result === "gave_up")) await new Promise((r) => setTimeout(r, 100));
    const seen = attempts.map((a) => [a.attempt, a.result, a.error]);
    await d.stop(0); // aborts the hung attempt (recorded then as "controller stopping")
    assert.ok(seen.some((a) => a[1] === "gave_up"), `no attempt given up 6s after an event with a 1.5s deadline; recorded before stop: ${JSON.stringify(seen)}`);
  });
});

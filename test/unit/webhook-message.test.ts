// Pure webhook logic: which event a rollout's end is, the Slack text, the signature, config problems.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { Problems } from "../../common/field-checks.js";
import type { RolloutRecord } from "../../controller/history/history-store.js";
import type { RolloutEvent } from "../../controller/rollout/rollout-executor.js";
import { parseWebhooks } from "../../controller/webhooks/webhook-config.js";
import { backoffMs, noticesForRolloutEvent, signBody, slackBody } from "../../controller/webhooks/webhook-message.js";

const rollout = (state: RolloutRecord["state"], schedule = ""): RolloutRecord =>
  ({ id: 7, kind: "reload", group: "web", service: "nginx", state, schedule, summary: `it ${state}`, hostsTotal: 3, hostsOk: 1, hostsFailed: 1, hostsSkipped: 1 }) as RolloutRecord;
const finished = (r: RolloutRecord): RolloutEvent => ({ rolloutId: 7, kind: "finished", host: "", batch: -1, canary: false, outcome: r.state, ok: false, message: "", at: 0, rollout: r });

test("every rollout end is exactly one event; a halt is `halted`, not also `failed`", () => {
  const events = (state: RolloutRecord["state"], halted: boolean) => noticesForRolloutEvent(finished(rollout(state)), rollout("running"), halted).map((n) => n.event);
  assert.deepEqual(events("failed", true), ["halted"]);
  assert.deepEqual(events("failed", false), ["failed"]);
  assert.deepEqual(events("succeeded", false), ["finished"]);
  assert.deepEqual(events("aborted", false), ["aborted"]);
  assert.deepEqual(events("interrupted", false), ["interrupted"]);
  const scheduled = noticesForRolloutEvent(finished(rollout("failed", "nightly")), rollout("running", "nightly"), true).map((n) => n.event);
  assert.deepEqual(scheduled, ["halted", "schedule_failed"]);
  const hostEvent = { ...finished(rollout("running")), kind: "host_finished" as const };
  assert.deepEqual(noticesForRolloutEvent(hostEvent, rollout("running"), false), []);
});

test("slack bodies are one escaped text line; signatures are HMAC-SHA256 of timestamp.body; backoff doubles to a cap", () => {
  const [n] = noticesForRolloutEvent(finished(rollout("failed")), rollout("running"), true);
  assert.deepEqual(Object.keys(JSON.parse(slackBody(n!))), ["text"]);
  assert.match(JSON.parse(slackBody(n!)).text, /rollout 7 \(reload of nginx on web\) HALTED: it failed — 1 ok, 1 failed, 1 skipped of 3/);
  assert.equal(signBody(Buffer.from("k"), "1700000000", "body"), `sha256=${createHmac("sha256", "k").update("1700000000.body").digest("hex")}`);
  const [hostile] = noticesForRolloutEvent(finished({ ...rollout("failed"), summary: "halted: canary unhealthy: <!channel> <http://evil.example|docs> & more" }), rollout("running"), true);
  const text = JSON.parse(slackBody(hostile!)).text as string;
  assert.doesNotMatch(text, /<!channel>|<http/, "agent text cannot mention the channel or disguise a link");
  assert.match(text, /&lt;!channel&gt; &lt;http:\/\/evil\.example\|docs&gt; &amp; more/);
  assert.deepEqual([2, 3, 4, 20].map((a) => backoffMs(a)), [1000, 2000, 4000, 60_000]);
});

test("webhook config problems name the field", () => {
  const p = new Problems();
  parseWebhooks([{ name: "a", url: "ftp://x" }, { name: "b", url: "http://u:p@x/", secret_file: "rel", events: ["exploded"], groups: ["nope"] }], ["web"], p);
  const text = p.list.map((x) => `${x.path.join(".")}: ${x.message}`).join("\n");
  assert.match(text, /webhooks\.0\.url: must be an http:\/\/ or https:\/\/ URL/);
  assert.match(text, /webhooks\.0\.secret_file: is required/);
  assert.match(text, /webhooks\.1\.url: must not carry credentials/);
  assert.match(text, /webhooks\.1\.secret_file: must be an absolute path/);
  assert.match(text, /webhooks\.1\.events\.0: must be one of started, waiting_for_approval/);
  assert.match(text, /webhooks\.1\.groups\.0: must be one of web/);
  const ok = new Problems();
  const [slack] = parseWebhooks([{ name: "chat", url: "https://hooks.example/x", format: "slack", deadline: "1m" }], ["web"], ok);
  assert.deepEqual(ok.list, []);
  assert.equal(slack!.deadlineMs, 60_000);
  assert.equal(slack!.events.length, 9);
});

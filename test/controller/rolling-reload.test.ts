// Rolling reloads against real agents on loopback managing real processes,
// driven through the real CLI and controller.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import type { RolloutEvent } from "../../controller/rollout/rollout-executor.js";
import { startAgent } from "../helpers/agent-harness.js";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { startLocalFleet, type FleetHost } from "../helpers/local-fleet.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

describe("rolling reloads", () => {
  const scratch = scratchDir();
  let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
  let hosts: FleetHost[];
  let controller: ControllerHarness;
  let deadAddress: string;
  let env: Record<string, string>;
  const counts = () => Promise.all(hosts.map((h) => h.reloads()));
  const ndjson = (out: string) => out.trim().split("\n").map((l) => JSON.parse(l) as { kind: string; host: string; outcome: string; ok: boolean; rolloutId: string; plan?: { batches: { hosts: string[]; canary: boolean }[] } });

  before(async () => {
    fleet = await startLocalFleet(scratch.dir, 10);
    hosts = fleet.hosts;
    // An agent that existed and was stopped: its address refuses connections.
    const dead = await startAgent(`listen: 127.0.0.1:0\ninsecure: true\nservices:\n  web:\n    reload: { signal: HUP, pidfile: /nonexistent.pid }\n`);
    deadAddress = dead.address;
    await dead.stop();
    const addr = (hs: FleetHost[]) => `[${hs.map((h) => h.address).join(", ")}]`;
    const file = writeInventory(
      scratch.dir,
      `  all10:
    service: web
    hosts: ${addr(hosts)}
    policy: { canary: 1, batch: 3 }
  withdead:
    service: web
    hosts: [${hosts[0]!.address}, ${deadAddress}, ${hosts[1]!.address}]
    policy: { canary: 0, batch: 3 }
`,
    );
    controller = await startController(file);
    env = { FLEET_CONTROLLER: controller.address };
  });
  after(async () => {
    await controller?.stop();
    await fleet?.stop();
    scratch.remove();
  });
  beforeEach(() => hosts.forEach((h) => h.setHealthy(true)));

  test("10 hosts, canary 1, batch 3: every host reloaded once, in the planned order", async () => {
    const before = await counts();
    const r = await runFleet(["reload", "all10", "--canary", "1", "--batch", "3", "--json", "--reason", "test order"], env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const events = ndjson(r.stdout);
    const plan = events.find((e) => e.kind === "plan")!.plan!;
    const a = hosts.map((h) => h.address);
    assert.deepEqual(plan.batches.map((b) => b.hosts), [[a[0]], a.slice(1, 4), a.slice(4, 7), a.slice(7, 10)]);
    assert.equal(plan.batches[0]!.canary, true);
    assert.deepEqual(await counts(), before.map((n) => n + 1));
    // Order: each batch finished before the next started.
    const starts = events.filter((e) => e.kind === "host_started").map((e) => e.host);
    const batchOf = (h: string) => plan.batches.findIndex((b) => b.hosts.includes(h));
    assert.deepEqual(starts.map(batchOf), [0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    const seq = events.filter((e) => e.kind === "host_started" || e.kind === "host_finished");
    for (let i = 1; i < seq.length; i++) {
      if (seq[i]!.kind === "host_started") {
        const b = batchOf(seq[i]!.host);
        const unfinishedEarlier = seq.slice(0, i).filter((e) => e.kind === "host_started" && batchOf(e.host) < b && !seq.slice(0, i).some((f) => f.kind === "host_finished" && f.host === e.host));
        assert.deepEqual(unfinishedEarlier, [], "a batch starts only after the previous one finished");
      }
    }
    const finished = events.find((e) => e.kind === "finished")!;
    assert.equal(finished.outcome, "succeeded");
    const show = await runFleet(["show", String(finished.rolloutId), "--json"], env);
    const detail = JSON.parse(show.stdout);
    assert.equal(detail.rollout.reason, "test order");
    assert.match(detail.rollout.requestedBy, /@/);
    assert.ok(detail.steps.every((s: { outcome: string; probesSent: number }) => s.outcome === "reloaded" && s.probesSent > 0));
  });

  test("a failing canary halts the rollout and leaves every other host untouched", async () => {
    hosts[0]!.setHealthy(false);
    const before = await counts();
    const r = await runFleet(["reload", "all10", "--canary", "1", "--batch", "3"], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /host_finished .* unhealthy/);
    assert.match(r.stdout, /halted: canary failed/);
    const after = await counts();
    assert.equal(after[0], before[0]! + 1, "the canary was reloaded");
    assert.deepEqual(after.slice(1), before.slice(1), "no other service was signalled");
    const id = /rollout (\d+)/.exec(r.stdout)![1]!;
    const detail = JSON.parse((await runFleet(["show", id, "--json"], env)).stdout);
    assert.equal(detail.rollout.state, "failed");
    assert.deepEqual(detail.steps.map((s: { status: string; outcome: string }) => s.outcome || s.status), ["unhealthy", ...Array(9).fill("skipped")]);
  });

  test("--max-failures 1: one failure goes on, a second halts", async () => {
    hosts[2]!.setHealthy(false); // batch 1
    hosts[5]!.setHealthy(false); // batch 2
    const before = await counts();
    const r = await runFleet(["reload", "all10", "--canary", "1", "--batch", "3", "--max-failures", "1", "--json"], env);
    assert.equal(r.code, 1);
    const finished = ndjson(r.stdout).find((e) => e.kind === "finished")!;
    assert.equal(finished.outcome, "failed");
    const after = await counts();
    assert.deepEqual(after.map((n, i) => n - before[i]!), [1, 1, 1, 1, 1, 1, 1, 0, 0, 0], "batches 0-2 ran, batch 3 never started");
    const detail = JSON.parse((await runFleet(["show", finished.rolloutId, "--json"], env)).stdout);
    assert.match(detail.rollout.summary, /2 failures exceed the allowed 1/);
  });

  test("a stopped agent is found by the preflight within the deadline; tolerated, it counts as a failure", async () => {
    const started = Date.now();
    const before = await counts();
    const refused = await runFleet(["reload", "withdead", "--json"], env);
    assert.equal(refused.code, 3, "refused by the preflight for an unreachable host");
    assert.ok(Date.now() - started < 20_000, "well within the reload deadline");
    assert.deepEqual(await counts(), before, "no host was reloaded");
    const r = await runFleet(["reload", "withdead", "--json", "--max-failures", "1", "--allow-preflight-failures"], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const done = ndjson(r.stdout).filter((e) => e.kind === "host_finished");
    const dead = done.find((e) => e.host === deadAddress)!;
    assert.equal(dead.outcome, "unreachable");
    assert.equal(dead.ok, false);
    assert.deepEqual(done.filter((e) => e.host !== deadAddress).map((e) => e.outcome), ["reloaded", "reloaded"]);
  });

  test("abort stops after the in-flight batch; a second rollout on the busy group is refused; resume finishes the rest once", async () => {
    const before = await counts();
    const events: RolloutEvent[] = [];
    const started = controller.core.startReload(
      { group: "all10", policy: { canary: "1", batch: "3", pause: "6s" }, hosts: [], reason: "abort test", caller: { user: "test", host: "test" }, peer: "in-process", allowRestart: false },
      (e) => events.push(e),
    );
    const id = String(started.rollout.id);
    // Act during the pause after batch 1: the abort then lands before batch 2, however slow the CLI starts.
    await waitFor("the pause before batch 2", () => events.some((e) => e.kind === "pause" && e.batch === 2), 20_000);

    const busy = await runFleet(["reload", "all10"], env);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, new RegExp(`group all10 is busy: rollout ${id} \\(started by test@test`));

    const abort = await runFleet(["abort", id], env);
    assert.equal(abort.code, 0, abort.stderr);
    const final = await started.done;
    assert.equal(final.state, "aborted");
    const mid = await counts();
    assert.deepEqual(mid.map((n, i) => n - before[i]!), [1, 1, 1, 1, 0, 0, 0, 0, 0, 0], "the in-flight batch finished, nothing after it");
    assert.equal(final.hostsSkipped, 6);

    const resumed = await runFleet(["resume", id, "--json"], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual((await counts()).map((n, i) => n - before[i]!), Array(10).fill(1), "every host exactly once");
  });

  test("fleet history lists rollouts newest first, and status shows every host", async () => {
    const h = await runFleet(["history", "--group", "all10", "--json"], env);
    const rows = h.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(rows.length >= 4);
    assert.ok(rows.every((r: { group: string }) => r.group === "all10"));
    assert.deepEqual(rows.map((r: { id: string }) => Number(r.id)), [...rows.map((r: { id: string }) => Number(r.id))].sort((a, b) => b - a));
    const s = await runFleet(["status", "all10"], env);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.equal(s.stdout.trim().split("\n").length, 12, "a summary, a header and ten hosts");
    assert.match(s.stdout, /^10 hosts in 1 group: 10 up\nGROUP +HOST +SERVICE +STATE +PID/);
    assert.match(s.stdout, /all10 +127\.0\.0\.1:\d+ +web +running, healthy +\d+/);
    const dead = await runFleet(["status", "withdead"], env);
    assert.equal(dead.code, 3, "an unreachable agent exits 3");
    assert.match(dead.stdout, /UNREACHABLE/);
  });
});

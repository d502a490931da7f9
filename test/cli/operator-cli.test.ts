// The operator's CLI against a real controller and five real agents with real web services:
// the preflight refuses before any host is signalled, the approval gate (promote, abort,
// a controller restart while waiting), fleet follow mid-rollout, fleet resume with a new pacing,
// status with a service an agent does not declare, an unknown group in history.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { RolloutEvent } from "../../controller/rollout/rollout-executor.js";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { startLocalFleet, type FleetHost } from "../helpers/local-fleet.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

type Event = { kind: string; host: string; outcome: string; ok: boolean; rolloutId: string; message: string; plan?: { batches: { hosts: string[] }[] }; rollout?: { id: string; state: string; preflight?: { refused: boolean; failed: { host: string; outcome: string }[] } } };
const ndjson = (out: string): Event[] => out.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Event);

describe("the operator's CLI", () => {
  const scratch = scratchDir("operator-cli");
  let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
  let hosts: FleetHost[];
  let controller: ControllerHarness;
  let inventory: string;
  const cli = (args: string[]) => runFleet(["--controller", controller.address, ...args]);
  const counts = () => Promise.all(hosts.map((h) => h.reloads()));
  const delta = async (before: number[]) => (await counts()).map((n, i) => n - before[i]!);
  const waitingRollout = (group: string) => waitFor(`a rollout of ${group} waiting for approval`, () => controller.core.activeRollouts(group).find((r) => r.waitingForApproval), 30_000);

  before(async () => {
    fleet = await startLocalFleet(scratch.dir, 5, "op");
    hosts = fleet.hosts;
    const list = (hs: FleetHost[]) => `[${hs.map((h) => h.address).join(", ")}]`;
    inventory = writeInventory(
      scratch.dir,
      `  five:
    service: web
    hosts: ${list(hosts)}
    policy: { canary: 1, batch: 2 }
  four:
    service: web
    hosts: ${list(hosts.slice(0, 4))}
    policy: { canary: 1, batch: 1 }
  gated:
    service: web
    hosts: ${list(hosts.slice(0, 4))}
    policy: { canary: 1, batch: 2, approve: true }
  other:
    service: nosuch
    hosts: ${list(hosts.slice(0, 1))}
  named:
    service: web
    hosts:
      alpha: { address: ${hosts[0]!.address}, labels: { zone: a } }
      beta: { address: ${hosts[1]!.address}, labels: { zone: a } }
      gamma: { address: 127.0.0.1:1, labels: { zone: b } }
    policy: { canary: 1, batch: 2 }
`,
    );
    controller = await startController(inventory);
  });
  after(async () => {
    await controller?.stop();
    await fleet?.stop().catch(() => undefined);
    scratch.remove();
  });

  test("with one of five agents stopped, reload refuses before any host is signalled and names it; --dry-run shows the same preflight", async () => {
    const dead = hosts[4]!;
    await dead.agent.stop();
    const before = await counts();
    const dry = await cli(["reload", "five", "--dry-run"]);
    assert.equal(dry.code, 3, dry.stdout + dry.stderr);
    assert.match(dry.stdout, new RegExp(`preflight_failed ${dead.address} unreachable`));
    assert.match(dry.stdout, /preflight refused: 4 of 5 hosts ready; 1 host failed it, more than the allowed 0/);

    const r = await cli(["reload", "five", "--yes", "--json"]);
    assert.equal(r.code, 3, "refused because a host is unreachable: exit 3\n" + r.stdout + r.stderr);
    const events = ndjson(r.stdout);
    assert.deepEqual(events.filter((e) => e.kind === "preflight_failed").map((e) => [e.host, e.outcome]), [[dead.address, "unreachable"]]);
    assert.equal(events.filter((e) => e.kind === "host_started").length, 0, "no host was started");
    const finished = events.find((e) => e.kind === "finished")!;
    assert.equal(finished.outcome, "failed");
    assert.equal(finished.rollout?.preflight?.refused, true);
    assert.deepEqual(await delta(before), [0, 0, 0, 0, 0], "all four running services' reload counters unchanged");

    // The history keeps the preflight; fleet follow of that rollout ends with the same code.
    const show = JSON.parse((await cli(["show", finished.rolloutId, "--json"])).stdout);
    assert.equal(show.rollout.preflight.failed[0].host, dead.address);
    assert.ok(show.events.some((e: Event) => e.kind === "preflight_failed" && e.host === dead.address));
    assert.equal((await cli(["follow", finished.rolloutId])).code, 3);

    // Tolerated within --max-failures with --allow-preflight-failures: the dead host is recorded failed, the others reloaded.
    const tolerated = await cli(["reload", "five", "--yes", "--json", "--max-failures", "1", "--allow-preflight-failures"]);
    assert.equal(tolerated.code, 0, tolerated.stdout + tolerated.stderr);
    const dead1 = ndjson(tolerated.stdout).find((e) => e.kind === "host_finished" && e.host === dead.address)!;
    assert.equal(dead1.outcome, "unreachable");
    assert.match(dead1.message, /^preflight: /);
    assert.deepEqual(await delta(before), [1, 1, 1, 1, 0]);
  });

  test("selectors and the preflight compose: only the selected hosts are asked, failures are named by host name, and every path of a config set is checked", async () => {
    // gamma's address has no agent: the whole group is refused, naming it.
    const all = await cli(["reload", "named", "--dry-run"]);
    assert.equal(all.code, 3, all.stdout + all.stderr);
    assert.match(all.stdout, /preflight_failed gamma unreachable/);
    assert.match(all.stdout, /preflight refused: 2 of 3 hosts ready; .*gamma: unreachable/);
    assert.doesNotMatch(all.stdout, /preflight_failed 127\.0\.0\.1:1/, "the report names the host, not its address");

    // Selected away by label or by name, gamma is not asked at all.
    const byLabel = await cli(["reload", "named", "--select", "zone=a", "--dry-run"]);
    assert.equal(byLabel.code, 0, byLabel.stdout + byLabel.stderr);
    assert.match(byLabel.stdout, /not selected: gamma: label zone is b, not a/);
    assert.match(byLabel.stdout, /preflight passed: 2 of 2 hosts ready/);
    assert.doesNotMatch(byLabel.stdout, /preflight_failed/);
    const before = await counts();
    const byName = await cli(["reload", "named", "--hosts", "al*,be*", "--yes", "--json"]);
    assert.equal(byName.code, 0, byName.stdout + byName.stderr);
    assert.deepEqual(ndjson(byName.stdout).filter((e) => e.kind === "host_finished").map((e) => e.host).sort(), ["alpha", "beta"]);
    assert.deepEqual(await delta(before), [1, 1, 0, 0, 0]);

    // A config set: the preflight checks every pushed path (these agents declare none), named per host.
    const fs = await import("node:fs");
    fs.writeFileSync(`${scratch.dir}/a.conf`, "a");
    fs.writeFileSync(`${scratch.dir}/b.conf`, "b");
    const set = await cli(["rollout", "named", "--select", "zone=a", "--file", `${scratch.dir}/a.conf:/etc/a.conf`, "--file", `${scratch.dir}/b.conf:/etc/b.conf`, "--dry-run"]);
    assert.equal(set.code, 1, set.stdout + set.stderr);
    assert.match(set.stdout, /preflight_failed alpha refused: \/etc\/a\.conf, \/etc\/b\.conf are not config paths of service web on this agent/);
    assert.match(set.stdout, /preflight_failed beta refused/);
    assert.doesNotMatch(set.stdout, /preflight_failed gamma/);
  });

  test("status tells a service the agent does not declare from an unreachable agent; a rollout of it is refused by the preflight", async () => {
    const s = await cli(["status", "other"]);
    assert.equal(s.code, 1, s.stdout + s.stderr);
    assert.match(s.stdout, /^1 host in 1 group: 1 service not declared$/m);
    assert.match(s.stdout, /other +127\.0\.0\.1:\d+ +nosuch +SERVICE NOT DECLARED/);
    assert.doesNotMatch(s.stdout, /UNREACHABLE/);
    const five = await cli(["status", "five"]);
    assert.equal(five.code, 3);
    assert.match(five.stdout, /^5 hosts in 1 group: 4 up, 1 unreachable$/m);
    assert.doesNotMatch(five.stdout + five.stderr, /Resolution note/);
    const r = await cli(["reload", "other", "--dry-run"]);
    assert.equal(r.code, 1, "refused, but nothing unreachable: exit 1");
    assert.match(r.stdout, /preflight_failed 127\.0\.0\.1:\d+ refused: service nosuch is not declared on this agent; declared: web/);
  });

  test("a config rollout to a path the service does not declare is refused by the preflight", async () => {
    const file = `${scratch.dir}/new.json`;
    await import("node:fs").then((fs) => fs.writeFileSync(file, "{}"));
    const before = await counts();
    const r = await cli(["rollout", "four", "--file", file, "--path", "/etc/undeclared.conf", "--yes"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /\/etc\/undeclared\.conf is not a config path of service web on this agent/);
    assert.deepEqual(await delta(before), [0, 0, 0, 0, 0]);
  });

  test("--approve: the canary is reloaded and the others wait; fleet promote completes the rollout", async () => {
    const seen: string[] = [];
    const off = controller.core.events.add({ rolloutEvent: (e) => void seen.push(e.kind) });
    try {
      const before = await counts();
      const run = cli(["reload", "four", "--approve", "--yes", "--json"]);
      const waiting = await waitingRollout("four");
      assert.deepEqual(await delta(before), [1, 0, 0, 0, 0], "only the canary was reloaded");
      assert.ok(seen.includes("waiting_for_approval"), "observers (webhooks, metrics) hear waiting_for_approval");
      const status = await cli(["status", "four"]);
      assert.match(status.stdout, new RegExp(`rollout ${waiting.id} \\(reload four\\) is waiting for approval: fleet promote ${waiting.id}`));
      const history = await cli(["history", "--group", "four"]);
      assert.match(history.stdout, new RegExp(`^${waiting.id} +waiting for approval +four`, "m"));
      const json = JSON.parse((await cli(["show", String(waiting.id), "--json"])).stdout);
      assert.equal(json.rollout.state, "waiting_for_approval");

      const promote = await cli(["promote", String(waiting.id)]);
      assert.equal(promote.code, 0, promote.stderr);
      assert.match(promote.stdout, /approved by /);
      const done = await run;
      assert.equal(done.code, 0, done.stdout + done.stderr);
      const kinds = ndjson(done.stdout).map((e) => e.kind);
      assert.ok(kinds.indexOf("waiting_for_approval") < kinds.indexOf("approved"));
      assert.deepEqual(await delta(before), [1, 1, 1, 1, 0]);
      const again = await cli(["promote", String(waiting.id)]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /has succeeded; it is not waiting for approval/);
    } finally {
      off();
    }
  });

  test("the group's policy approve: true gates too; fleet abort instead leaves the others untouched", async () => {
    const before = await counts();
    const run = cli(["reload", "gated", "--yes"]);
    const waiting = await waitingRollout("gated");
    const abort = await cli(["abort", String(waiting.id)]);
    assert.equal(abort.code, 0, abort.stderr);
    const done = await run;
    assert.equal(done.code, 1, "aborted: exit 1");
    assert.deepEqual(await delta(before), [1, 0, 0, 0, 0], "only the canary was ever reloaded");
    const show = JSON.parse((await cli(["show", String(waiting.id), "--json"])).stdout);
    assert.equal(show.rollout.state, "aborted");
    assert.equal(show.rollout.hostsSkipped, 3);
  });

  test("fleet follow attached mid-rollout prints the remaining events and exits with the rollout's exit code", async () => {
    hosts[3]!.setHealthy(false);
    try {
      const events: RolloutEvent[] = [];
      const started = controller.core.startReload(
        { group: "four", policy: { pause: "1500ms" }, hosts: [], reason: "follow test", caller: { user: "test", host: "test" }, peer: "in-process", allowRestart: false },
        (e) => events.push(e),
      );
      const id = String(started.rollout.id);
      await waitFor("the canary to finish", () => events.some((e) => e.kind === "host_finished"), 20_000);
      const f = await cli(["follow", id, "--json"]);
      assert.equal(f.code, 1, "the rollout halted on the unhealthy host: follow exits 1\n" + f.stdout + f.stderr);
      const got = ndjson(f.stdout);
      assert.equal(got[0]!.kind, "plan");
      assert.match(got[0]!.message, new RegExp(`following rollout ${id}`));
      const finishedHosts = got.filter((e) => e.kind === "host_finished").map((e) => e.host);
      assert.ok(!finishedHosts.includes(hosts[0]!.address), "the canary's end came before follow attached");
      assert.ok(finishedHosts.includes(hosts[3]!.address), "the remaining hosts' events are printed");
      assert.equal(got.at(-1)!.kind, "finished");
      assert.equal((await started.done).state, "failed");
      const ended = await cli(["follow", id]);
      assert.equal(ended.code, 1, "an ended rollout: its end and its code");
      assert.match(ended.stdout, /finished failed: halted/);
    } finally {
      hosts[3]!.setHealthy(true);
    }
  });

  test("fleet resume shows what remains, counts it right, and takes --batch/--pause for the remainder (recorded)", async () => {
    const events: RolloutEvent[] = [];
    const started = controller.core.startReload(
      { group: "four", policy: { pause: "5s" }, hosts: [], reason: "resume test", caller: { user: "test", host: "test" }, peer: "in-process", allowRestart: false },
      (e) => events.push(e),
    );
    const id = String(started.rollout.id);
    await waitFor("the pause before batch 2", () => events.some((e) => e.kind === "pause" && e.batch === 2), 20_000);
    assert.equal((await cli(["abort", id])).code, 0);
    assert.equal((await started.done).state, "aborted");
    const before = await counts();

    const dry = await cli(["resume", id, "--batch", "2", "--pause", "0s", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = ndjson(dry.stdout)[0]!;
    assert.match(plan.message, /2 of 4 hosts remaining in 1 batch/);
    assert.deepEqual(plan.plan!.batches.map((b) => b.hosts), [[hosts[2]!.address, hosts[3]!.address]]);
    assert.ok(ndjson(dry.stdout).some((e) => e.kind === "preflight" && e.outcome === "passed"));
    assert.deepEqual(await delta(before), [0, 0, 0, 0, 0], "a dry run changes nothing");

    const r = await cli(["resume", id, "--batch", "2", "--pause", "0s", "--yes", "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const startedEvent = ndjson(r.stdout).find((e) => e.kind === "started")!;
    assert.match(startedEvent.message, /four: 2 of 4 hosts remaining in 1 batch /);
    assert.deepEqual(await delta(before), [0, 0, 1, 1, 0]);
    const show = JSON.parse((await cli(["show", id, "--json"])).stdout);
    assert.match(show.rollout.policy.policyText, /remainder: batch 2, pause 0ms/);
    assert.ok(show.events.some((e: Event) => e.kind === "resumed" && /resumed with batch 2, pause 0ms for the 2 remaining hosts/.test(e.message)));
  });

  test("history of an unknown group is an error naming the groups", async () => {
    const r = await cli(["history", "--group", "nope"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no group "nope" in the inventory.*groups: five, four, gated, other/);
  });

  test("a controller restart while waiting for approval leaves the rollout interrupted; resume waits for approval again without reloading the canary again", async () => {
    const before = await counts();
    const run = cli(["reload", "gated", "--yes"]);
    const waiting = await waitingRollout("gated");
    await controller.stop();
    const cut = await run;
    assert.equal(cut.code, 1, "interrupted: exit 1");
    controller = await startController(inventory);
    const shown = JSON.parse((await cli(["show", String(waiting.id), "--json"])).stdout);
    assert.equal(shown.rollout.state, "interrupted");

    const resumed = cli(["resume", String(waiting.id), "--yes", "--json"]);
    const again = await waitingRollout("gated");
    assert.equal(again.id, waiting.id);
    assert.deepEqual(await delta(before), [1, 0, 0, 0, 0], "the canary was not reloaded again");
    assert.equal((await cli(["promote", String(waiting.id)])).code, 0);
    const r = await resumed;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await delta(before), [1, 1, 1, 1, 0]);
  });
});

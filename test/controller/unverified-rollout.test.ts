// A rollout whose service has no generation evidence: real controller, three
// real agents on loopback, real processes that handle SIGHUP, the real CLI.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";

type Event = { kind: string; host: string; outcome: string; ok: boolean; rolloutId: string; message: string };

describe("unverified reloads in rollouts", () => {
  const scratch = scratchDir();
  let services: WebService[];
  let agents: AgentHarness[];
  let controller: ControllerHarness;
  let env: Record<string, string>;
  const counts = () => Promise.all(services.map(async (s) => (await s.generation()).reloads));
  const ndjson = (out: string) => out.trim().split("\n").map((l) => JSON.parse(l) as Event);

  before(async () => {
    services = await Promise.all([1, 2, 3].map((i) => startWebService(scratch.dir, `u${i}`)));
    // No generation evidence: the web service has no workers and none is declared.
    agents = await Promise.all(
      services.map((s, i) =>
        startAgent(`
listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state-${i}
services:
  web:
    reload: { signal: HUP, pidfile: ${s.pidfile} }
    health: [{ http: "http://127.0.0.1:${s.port}/healthz" }]
    healthy_for: 100ms
    configs: [{ path: ${s.configFile} }]
`),
      ),
    );
    const hosts = `[${agents.map((a) => a.address).join(", ")}]`;
    controller = await startController(
      writeInventory(
        scratch.dir,
        `  plain:
    service: web
    hosts: ${hosts}
    policy: { canary: 1, batch: 2 }
  accepting:
    service: web
    hosts: ${hosts}
    policy: { canary: 1, batch: 2, accept_unverified: true }
`,
      ),
    );
    env = { FLEET_CONTROLLER: controller.address };
  });
  after(async () => {
    await controller?.stop();
    await Promise.all((agents ?? []).map((a) => a.stop()));
    await Promise.all((services ?? []).map((s) => s.stop()));
    scratch.remove();
  });

  test("without accept_unverified the rollout halts on the canary as unverified; no other host is touched", async () => {
    const before = await counts();
    const r = await runFleet(["reload", "plain", "--json", "--reason", "no evidence"], env);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const events = ndjson(r.stdout);
    const finishedHosts = events.filter((e) => e.kind === "host_finished");
    assert.equal(finishedHosts.length, 1, "only the canary ran");
    assert.equal(finishedHosts[0]!.host, agents[0]!.address);
    assert.equal(finishedHosts[0]!.outcome, "unverified");
    assert.equal(finishedHosts[0]!.ok, false);
    assert.match(finishedHosts[0]!.message, /nothing shows the service loaded the new config/);
    assert.match(events.find((e) => e.kind === "halted")!.message, /canary failed/);
    assert.equal(events.find((e) => e.kind === "finished")!.outcome, "failed");
    const after = await counts();
    assert.deepEqual(after, [before[0]! + 1, before[1], before[2]], "the canary got its SIGHUP, the others nothing");

    const show = JSON.parse((await runFleet(["show", events[0]!.rolloutId, "--json"], env)).stdout);
    assert.equal(show.steps[0].outcome, "unverified");
    assert.equal(show.steps[0].ok, false);
    assert.equal(show.steps[0].evidence, "none (unverified)");
    assert.deepEqual(show.steps.slice(1).map((s: { status: string }) => s.status), ["skipped", "skipped"]);
  });

  test("with accept_unverified: true it completes, and history marks every step unverified", async () => {
    const before = await counts();
    const r = await runFleet(["reload", "accepting", "--json"], env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const events = ndjson(r.stdout);
    const finishedHosts = events.filter((e) => e.kind === "host_finished");
    assert.deepEqual(finishedHosts.map((e) => [e.outcome, e.ok]), [["unverified", true], ["unverified", true], ["unverified", true]]);
    assert.deepEqual(await counts(), before.map((n) => n + 1));
    const id = events[0]!.rolloutId;

    const show = JSON.parse((await runFleet(["show", id, "--json"], env)).stdout);
    assert.equal(show.rollout.state, "succeeded");
    assert.equal(show.rollout.hostsUnverified, 3);
    assert.match(show.rollout.summary, /3 unverified \(accepted without generation evidence\)/);
    for (const s of show.steps) {
      assert.equal(s.outcome, "unverified");
      assert.equal(s.ok, true);
      assert.equal(s.evidence, "none (unverified)");
      assert.match(s.reason, /accepted: accept_unverified/);
      assert.equal(s.agentEvidence.generation.source, "none", "the agent's evidence is kept whole, as an object");
    }
    const human = await runFleet(["show", id], env);
    assert.match(human.stdout, /unverified .* none \(unverified\)/);
    const history = (await runFleet(["history", "--group", "accepting", "--json"], env)).stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(history.find((h: { id: string }) => h.id === id).hostsUnverified, 3);
    const historyText = (await runFleet(["history", "--group", "accepting"], env)).stdout;
    assert.match(historyText, /UNVERIFIED/);
    assert.match(historyText, new RegExp(`^${id}\\s+succeeded\\s+accepting\\s+reload\\s+3\\s+3/0/0\\s+3\\s`, "m"));
  });

  test("--accept-unverified on the command line does the same for one rollout", async () => {
    const r = await runFleet(["reload", "plain", "--accept-unverified", "--json"], env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const events = ndjson(r.stdout);
    assert.deepEqual(events.filter((e) => e.kind === "host_finished").map((e) => e.outcome), ["unverified", "unverified", "unverified"]);
    const plan = r.stdout.split("\n")[0]!;
    assert.match(plan, /unverified reloads accepted/);
  });

  test("status shows what a reload of the service can prove", async () => {
    const r = await runFleet(["status", "plain"], env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^GROUP +HOST +SERVICE +STATE +PID +EVIDENCE/m);
    assert.equal((r.stdout.match(/ none: reloads are unverified/g) ?? []).length, 3, r.stdout);
    const json = (await runFleet(["status", "plain", "--json"], env)).stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.match(json[0].evidence, /^none: reloads are unverified/);
  });

  test("a config rollout without evidence halts on the canary and restores its file; accepted, it keeps the new file", async () => {
    const original = services.map((s) => readFileSync(s.configFile, "utf8"));
    const local = path.join(scratch.dir, "new-config.json");
    writeFileSync(local, JSON.stringify({ healthy: true, body: "new" }));
    // Each agent declares its own service's file, so the rollout targets the canary host's path.
    const push = (group: string, host: number) =>
      runFleet(["rollout", group, "--file", local, "--path", services[host]!.configFile, "--hosts", agents[host]!.address, "--json"], env);

    const halted = await push("plain", 0);
    assert.equal(halted.code, 1, halted.stderr + halted.stdout);
    const events = ndjson(halted.stdout);
    assert.equal(events.find((e) => e.kind === "host_finished")!.outcome, "unverified");
    assert.match(events.find((e) => e.kind === "rollback")!.message, /its reload was unverified/);
    assert.equal(readFileSync(services[0]!.configFile, "utf8"), original[0], "the canary's previous file is back");

    const accepted = await push("accepting", 0);
    assert.equal(accepted.code, 0, accepted.stderr + accepted.stdout);
    const ok = ndjson(accepted.stdout);
    assert.deepEqual(ok.filter((e) => e.kind === "host_finished").map((e) => [e.outcome, e.ok]), [["unverified", true]]);
    assert.equal(ok.find((e) => e.kind === "rollback"), undefined, "nothing restored");
    assert.equal(readFileSync(services[0]!.configFile, "utf8"), readFileSync(local, "utf8"));
    const show = JSON.parse((await runFleet(["show", ok[0]!.rolloutId, "--json"], env)).stdout);
    assert.equal(show.steps[0].outcome, "unverified");
    assert.equal(show.steps[0].evidence, "none (unverified)");
  });
});

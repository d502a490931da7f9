// Config rollouts through the controller to three real nginx hosts that share
// one config path (each in its own mount namespace).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { childrenOf } from "../../agent/process/proc-fs.js";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { nginxMissing } from "../helpers/nginx.js";
import { LIVE_CONF, nginxConfig, nginxHostMissing, startNginxHost, type NginxHost } from "../helpers/nginx-host.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const skip = nginxMissing ?? nginxHostMissing;
if (skip) console.log(`# skipping config rollout tests: ${skip}`);

describe("config rollouts to three nginx hosts", { skip }, () => {
  const scratch = scratchDir();
  let hosts: NginxHost[] = [];
  let controller: ControllerHarness;
  let env: Record<string, string>;
  const files = () => hosts.map((h) => readFileSync(h.conf));
  const workers = () => Promise.all(hosts.map((h) => childrenOf(h.masterPid())));
  const rollout = async (content: string, ...extra: string[]) => {
    const file = path.join(scratch.dir, `new-${Math.random().toString(36).slice(2)}.conf`);
    writeFileSync(file, content);
    const r = await runFleet(["rollout", "web", "--file", file, "--path", LIVE_CONF, "--json", ...extra], env);
    return { ...r, events: r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) };
  };

  before(async () => {
    // h3 also checks what / serves, so a config that changes the body fails only there.
    hosts = [
      await startNginxHost(path.join(scratch.dir, "h1")),
      await startNginxHost(path.join(scratch.dir, "h2")),
      await startNginxHost(path.join(scratch.dir, "h3"), '{ http: "http://127.0.0.1:@PORT@/", body: "^v1" }'),
    ];
    controller = await startController(
      writeInventory(scratch.dir, `  web:\n    service: nginx\n    hosts: [${hosts.map((h) => h.agent.address).join(", ")}]\n    policy: { canary: 1, batch: 1 }\n`),
    );
    env = { FLEET_CONTROLLER: controller.address };
  });
  after(async () => {
    await controller?.stop();
    for (const h of hosts) await h.stop();
    scratch.remove();
  });

  test("a good config reaches every host in canary/batch order and every nginx serves it; again is a no-op", async () => {
    const r = await rollout(nginxConfig("v1-new"));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const a = hosts.map((h) => h.agent.address);
    assert.deepEqual(r.events.find((e) => e.kind === "plan").plan.batches.map((b: { hosts: string[] }) => b.hosts), [[a[0]], [a[1]], [a[2]]]);
    assert.deepEqual(r.events.filter((e) => e.kind === "host_started").map((e) => e.host), a);
    for (const h of hosts) assert.equal((await h.serve()).body, "v1-new\n");
    const again = await rollout(nginxConfig("v1-new"));
    assert.deepEqual(again.events.filter((e) => e.kind === "host_finished").map((e) => e.outcome), ["unchanged", "unchanged", "unchanged"]);
  });

  test("a broken config stops at the canary: every live file byte-identical, no nginx signalled, rollout failed with nginx's message", async () => {
    const before = files();
    const w = await workers();
    const r = await rollout(nginxConfig("x").replace("access_log off;", "access_log off;\n  bogus_directive on;"));
    assert.equal(r.code, 1);
    const done = r.events.filter((e) => e.kind === "host_finished");
    assert.equal(done.length, 1, "only the canary was tried");
    assert.equal(done[0].outcome, "rejected");
    assert.match(done[0].message, /unknown directive "bogus_directive" in .*nginx\.conf/);
    assert.equal(r.events.find((e) => e.kind === "finished").outcome, "failed");
    files().forEach((f, i) => assert.ok(f.equals(before[i]!), `host ${i + 1}: live file unchanged`));
    assert.deepEqual(await workers(), w, "no nginx was signalled");
  });

  test("passes nginx -t but fails the health probe: the canary is restored, reloaded, healthy; the rollout halts; history shows both", async () => {
    const before = files();
    const r = await rollout(nginxConfig("v1-new", "return 500;"));
    assert.equal(r.code, 1);
    assert.equal(r.events.find((e) => e.kind === "host_finished").outcome, "unhealthy");
    const rb = r.events.find((e) => e.kind === "rollback");
    assert.equal(rb.ok, true, rb.message);
    files().forEach((f, i) => assert.ok(f.equals(before[i]!), `host ${i + 1}: file as before`));
    assert.equal((await hosts[0]!.serve("/healthz")).status, 200, "healthy again");
    const id = r.events.find((e) => e.kind === "plan").rolloutId;
    const shown = JSON.parse((await runFleet(["show", String(id), "--json"], env)).stdout);
    assert.equal(shown.rollout.kind, "config");
    assert.equal(shown.rollout.state, "failed");
    assert.deepEqual(shown.steps.map((s: { outcome: string; status: string }) => s.outcome || s.status), ["unhealthy", "skipped", "skipped"]);
    assert.equal(shown.linked.length, 1);
    assert.equal(shown.linked[0].rollout.kind, "rollback");
    assert.equal(shown.linked[0].steps[0].outcome, "reloaded");
    const human = (await runFleet(["show", String(id)], env)).stdout;
    assert.match(human, /[0-9a-f]{12} -> [0-9a-f]{12}/);
    assert.match(human, /rollback web \(nginx\) — succeeded \(restores rollout \d+\)/);
  });

  test("--rollback-all: when the rollout halts, hosts already done are restored too", async () => {
    const before = files();
    const r = await rollout(nginxConfig("v2"), "--rollback-all");
    assert.equal(r.code, 1);
    assert.deepEqual(r.events.filter((e) => e.kind === "host_finished").map((e) => e.outcome), ["reloaded", "reloaded", "unhealthy"]);
    assert.deepEqual(r.events.filter((e) => e.kind === "rollback").map((e) => [e.host, e.ok]).sort(), hosts.map((h) => [h.agent.address, true]).sort());
    files().forEach((f, i) => assert.ok(f.equals(before[i]!), `host ${i + 1}: restored`));
    for (const h of hosts) assert.equal((await h.serve()).body, "v1-new\n");
  });

  test("a path the service does not declare is refused at the canary with the agent's reason", async () => {
    const file = path.join(scratch.dir, "x.conf");
    writeFileSync(file, "x");
    const r = await runFleet(["rollout", "web", "--file", file, "--path", "/etc/passwd"], env);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /\/etc\/passwd is not a config path of service nginx/);
  });
});

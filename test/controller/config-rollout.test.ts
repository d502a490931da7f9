// Config rollouts through the controller to three real nginx hosts.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { childrenOf } from "../../agent/process/proc-fs.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { NGINX, nginxMissing, startNginx, type Nginx } from "../helpers/nginx.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";

interface Host {
  nginx: Nginx;
  agent: AgentHarness;
}

describe("config rollouts to nginx", { skip: nginxMissing }, () => {
  const scratch = scratchDir();
  const hosts: Host[] = [];
  let controller: ControllerHarness;
  let env: Record<string, string>;
  // Every host's nginx.conf lives at its own path; the rollout pushes to each host's
  // declared path, so the inventory uses one group per shared path: here all hosts
  // declare the same logical file through a per-host symlink-free directory.
  const livePath = (i: number) => hosts[i]!.nginx.conf;
  const serve = async (i: number) => (await fetch(`http://127.0.0.1:${hosts[i]!.nginx.port}/`)).text();
  const workers = () => Promise.all(hosts.map((h) => childrenOf(h.nginx.masterPid())));

  before(async () => {
    for (let i = 0; i < 3; i++) {
      const dir = path.join(scratch.dir, `h${i + 1}`);
      mkdirSync(path.join(dir, "state"), { recursive: true });
      const nginx = await startNginx(dir);
      // h3 also checks what / serves, so a config that changes it fails only there.
      const probes = i === 2 ? `[{ http: "http://127.0.0.1:${nginx.port}/healthz" }, { http: "http://127.0.0.1:${nginx.port}/", body: "^v1" }]` : `[{ http: "http://127.0.0.1:${nginx.port}/healthz" }]`;
      const agent = await startAgent(`
listen: 127.0.0.1:0
insecure: true
state_dir: ${dir}/state
services:
  nginx:
    reload: { signal: HUP, pidfile: ${nginx.pidfile} }
    check: [${NGINX}, -t, -q, -p, "${dir}/", -e, ${nginx.errorLog}, -c, "{path}"]
    reject_markers: { log: ${nginx.errorLog}, pattern: "\\\\[emerg\\\\]" }
    generation: workers
    healthy_for: 200ms
    health: ${probes}
    configs: [{ path: /etc/fleet-test-nginx.conf }, { path: ${nginx.conf} }]
`);
      hosts.push({ nginx, agent });
    }
    const groups = hosts.map((h, i) => `  web${i + 1}:\n    service: nginx\n    hosts: [${h.agent.address}]\n`).join("");
    controller = await startController(writeInventory(scratch.dir, groups));
    env = { FLEET_CONTROLLER: controller.address };
  });
  after(async () => {
    await controller?.stop();
    for (const h of hosts) {
      await h.agent.stop();
      await h.nginx.stop();
    }
    scratch.remove();
  });

  /** Each nginx has its own prefix, so the same rollout goes to each host's own group and path. */
  async function rolloutAll(content: string, extra: string[] = []) {
    const file = path.join(scratch.dir, `new-${Date.now()}.conf`);
    const results = [];
    for (let i = 0; i < hosts.length; i++) {
      writeFileSync(file, content.replaceAll("@PREFIX@", path.dirname(livePath(i))).replaceAll("@PORT@", String(hosts[i]!.nginx.port)));
      results.push(await runFleet(["rollout", `web${i + 1}`, "--file", file, "--path", livePath(i), "--json", ...extra], env));
    }
    return results;
  }
  const template = (body: string, healthz = 'return 200 "ok\\n";') =>
    hosts[0]!.nginx.config(body).replaceAll(path.dirname(hosts[0]!.nginx.conf), "@PREFIX@").replace(`listen 127.0.0.1:${hosts[0]!.nginx.port}`, "listen 127.0.0.1:@PORT@").replace('return 200 "ok\\n";', healthz);

  test("a good config reaches every host and every nginx serves it", async () => {
    const results = await rolloutAll(template("v1-new"));
    for (const r of results) assert.equal(r.code, 0, r.stdout + r.stderr);
    for (let i = 0; i < 3; i++) assert.equal(await serve(i), "v1-new\n");
    const again = await rolloutAll(template("v1-new"));
    const ev = again[0]!.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(ev.find((e) => e.kind === "host_finished").outcome, "unchanged", "same hash: a no-op");
  });

  test("a broken config stops at the check: live files byte-identical, no nginx signalled, rollout failed with nginx's message", async () => {
    const before = hosts.map((_, i) => readFileSync(livePath(i)));
    const w = await workers();
    const [r] = await rolloutAll(template("x").replace("access_log off;", "access_log off;\n  bogus_directive on;"));
    assert.equal(r!.code, 1);
    const events = r!.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const host = events.find((e) => e.kind === "host_finished");
    assert.equal(host.outcome, "rejected");
    assert.match(host.message, /unknown directive "bogus_directive"/);
    assert.equal(events.find((e) => e.kind === "finished").outcome, "failed");
    hosts.forEach((_, i) => assert.ok(readFileSync(livePath(i)).equals(before[i]!), `host ${i + 1} file unchanged`));
    assert.deepEqual(await workers(), w, "no nginx was signalled");
  });

  test("a config that passes nginx -t but fails the health probe is rolled back, and the history shows both", async () => {
    const before = readFileSync(livePath(0));
    const [r] = await rolloutAll(template("v1-new", "return 500;"));
    assert.equal(r!.code, 1);
    const events = r!.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(events.find((e) => e.kind === "host_finished").outcome, "unhealthy");
    const rb = events.find((e) => e.kind === "rollback");
    assert.equal(rb.ok, true, rb.message);
    assert.ok(readFileSync(livePath(0)).equals(before), "file restored");
    assert.equal((await fetch(`http://127.0.0.1:${hosts[0]!.nginx.port}/healthz`)).status, 200, "healthy again");
    const id = events.find((e) => e.kind === "plan").rolloutId;
    const shown = JSON.parse((await runFleet(["show", String(id), "--json"], env)).stdout);
    assert.equal(shown.rollout.state, "failed");
    assert.equal(shown.rollout.kind, "config");
    assert.equal(shown.steps[0].newSha256.length, 64);
    assert.equal(shown.linked.length, 1);
    assert.equal(shown.linked[0].rollout.kind, "rollback");
    assert.equal(Number(shown.linked[0].rollout.parentId), Number(id));
    assert.equal(shown.linked[0].steps[0].outcome, "reloaded");
    const human = await runFleet(["show", String(id)], env);
    assert.match(human.stdout, /[0-9a-f]{12} -> [0-9a-f]{12}/);
    assert.match(human.stdout, /rollback .* \(restores rollout \d+\)/);
  });

  test("a path the service does not declare is refused at the canary with the agent's reason", async () => {
    const file = path.join(scratch.dir, "x.conf");
    writeFileSync(file, "x");
    const r = await runFleet(["rollout", "web1", "--file", file, "--path", "/etc/passwd"], env);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /\/etc\/passwd is not a config path of service nginx/);
  });
});

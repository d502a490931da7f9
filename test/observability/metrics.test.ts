// Prometheus metrics from the real daemons: a rollout with one failed host,
// scraped from the controller and the agents and parsed with a real
// exposition-format parser.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { CONTROLLER_BIN } from "../helpers/built-bins.js";
import { startControllerDaemon, type ControllerDaemon } from "../helpers/controller-daemon.js";
import { runFleet } from "../helpers/run-cli.js";
import { metricsParserMissing, scrapeMetrics } from "../helpers/scrape-metrics.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";
import { startWebService, type WebService } from "../helpers/web-service.js";

const missing = metricsParserMissing();
if (missing) console.log(`# skipping metrics tests: ${missing}`);

describe("metrics", { skip: missing }, () => {
  const scratch = scratchDir();
  const services: WebService[] = [];
  const agents: AgentProcess[] = [];
  const agentMetrics: string[] = [];
  let controller: ControllerDaemon;
  let controllerMetrics: string;

  before(async () => {
    for (const name of ["m1", "m2", "m3"]) {
      const svc = await startWebService(scratch.dir, name);
      services.push(svc);
      const file = path.join(scratch.dir, `${name}-agent.yaml`);
      writeFileSync(
        file,
        `listen: 127.0.0.1:0
insecure: true
metrics: { listen: 127.0.0.1:0 }
state_dir: ${scratch.dir}/${name}-state
services:
  web:
    reload: { signal: HUP, pidfile: ${svc.pidfile} }
    generation: { http: "http://127.0.0.1:${svc.port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${svc.port}/healthz" }]
    healthy_for: 200ms
`,
      );
      const agent = await spawnAgent(file);
      agents.push(agent);
      agentMetrics.push(await waitFor("agent metrics address", () => /"msg":"metrics listening","address":"([^"]+)"/.exec(agent.output())?.[1]));
    }
    const inventory = path.join(scratch.dir, "fleet.yaml");
    writeFileSync(
      inventory,
      `controller: { listen: "unix:${scratch.dir}/controller.sock", db: ${scratch.dir}/history.db }
agents: { deadline: 3s, reload_deadline: 20s }
metrics: { listen: 127.0.0.1:0, agent_check: 1h }
groups:
  web:
    service: web
    hosts: [${agents.map((a) => a.address).join(", ")}]
    policy: { canary: 0, batch: 3, max_failures: 1 }
`,
    );
    controller = await startControllerDaemon(inventory);
    controllerMetrics = await controller.logField("metrics listening", "address");
  });

  after(async () => {
    await controller?.stop();
    await Promise.all(agents.map((a) => a.stopInside()));
    await Promise.all(services.map((s) => s.stop()));
    scratch.remove();
  });

  test("a rollout with one failed host: step counts by outcome, duration histograms, reload outcomes on the agents", async () => {
    // The third service reloads into a config that fails its health check.
    writeFileSync(services[2]!.configFile, JSON.stringify({ healthy: false }));
    const r = await runFleet(["reload", "web", "--yes", "--reason", "metrics test"], { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /unhealthy/);

    const m = await scrapeMetrics(controllerMetrics);
    const labels = { group: "web", kind: "reload" };
    assert.equal(m.value("fleet_host_steps_total", { ...labels, outcome: "reloaded" }), 2);
    assert.equal(m.value("fleet_host_steps_total", { ...labels, outcome: "unhealthy" }), 1);
    assert.equal(m.family("fleet_host_steps").samples.filter((s) => s.name === "fleet_host_steps_total").length, 2, "no other outcome counted");

    const steps = m.histogram("fleet_host_step_duration_seconds", labels);
    assert.equal(steps.count, 3);
    assert.equal(steps.buckets.get("+Inf"), 3);
    const cumulative = [...steps.buckets.values()];
    assert.deepEqual(cumulative, [...cumulative].sort((a, b) => a - b), "buckets are cumulative");
    assert.ok(steps.sum > 0.2, `each host stays healthy for 200ms, got a sum of ${steps.sum}s`);

    const rollout = m.histogram("fleet_rollout_duration_seconds", { ...labels, state: "succeeded" });
    assert.equal(rollout.count, 1);
    assert.equal(m.value("fleet_rollouts_finished_total", { ...labels, state: "succeeded" }), 1);
    assert.equal(m.value("fleet_rollouts_started_total", labels), 1);
    assert.equal(m.family("fleet_rollouts_running").samples.length, 0);
    assert.equal(m.family("fleet_hosts_in_flight").samples.length, 0);
    for (const a of agents) assert.equal(m.value("fleet_agent_reachable", { group: "web", host: a.address }), 1);
    assert.ok(m.value("fleet_history_db_size_bytes")! > 0);
    assert.ok(m.histogram("fleet_history_write_duration_seconds", { operation: "finishSteps" }).count >= 3);

    // Naming conventions, and no unbounded label values.
    // (The Python parser names a counter family without its _total suffix, and refuses one whose samples lack it.)
    for (const f of m.families) {
      assert.match(f.name, /^fleet_[a-z0-9_]+$/);
      if (f.type === "counter") assert.ok(f.samples.every((s) => s.name.endsWith("_total")), f.name);
      for (const s of f.samples) for (const v of Object.values(s.labels)) assert.doesNotMatch(v, /metrics test/, `${f.name} carries a message`);
    }

    const outcomes = await Promise.all(agentMetrics.map(scrapeMetrics));
    for (const [i, a] of outcomes.entries()) {
      const failed = i === 2;
      assert.equal(a.value("fleet_agent_reloads_total", { service: "web", outcome: failed ? "unhealthy" : "reloaded" }), 1, `agent ${i}`);
      assert.equal(a.family("fleet_agent_reloads").samples.filter((s) => s.name === "fleet_agent_reloads_total").length, 1);
      assert.equal(a.histogram("fleet_agent_reload_phase_duration_seconds", { service: "web", phase: "total" }).count, 1);
      assert.ok(a.value("fleet_agent_reload_probes_total", { service: "web" })! > 0);
      assert.ok(a.value("fleet_agent_connections")! >= 1, "the controller's connection");
    }
    assert.ok(outcomes[2]!.value("fleet_agent_reload_probes_failed_total", { service: "web" })! > 0);
  });

  test("agents count refusals by reason, never by message", async () => {
    const r = await runFleet(["agent", "reload", agents[0]!.address, "nosuchservice"]);
    assert.notEqual(r.code, 0);
    const m = await scrapeMetrics(agentMetrics[0]!);
    assert.equal(m.value("fleet_agent_requests_refused_total", { rpc: "Reload", reason: "permission_denied" }), 1);
  });

  test("a metrics listen off loopback is refused with the field named", async () => {
    const file = path.join(scratch.dir, "bad.yaml");
    writeFileSync(file, `metrics: { listen: 0.0.0.0:9600 }\ngroups:\n  web: { service: web, hosts: [a:1] }\n`);
    const out = spawnSync(CONTROLLER_BIN, ["--config", file, "--check-config"], { encoding: "utf8", timeout: 30_000 });
    assert.equal(out.status, 2);
    assert.match(out.stderr, /line 1: metrics\.listen: 0\.0\.0\.0:9600 is not a loopback address/);
  });
});

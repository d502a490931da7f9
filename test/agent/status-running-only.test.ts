// Status with running_only, what the controller asks before a rollout: whether the service runs and
// its declared config paths, without running the probes or reading workers, sockets and hashes. The
// probes here are exec probes that append to a file, so the file shows whether they ran.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "fleet-status-running-only-"));
const service = spawn(process.execPath, ["-e", "process.on('SIGHUP', () => {}); setInterval(() => {}, 1e9)"], { stdio: "ignore" });
const ran = (name: string) => (existsSync(path.join(dir, name)) ? readFileSync(path.join(dir, name), "utf8").length : 0);
const probe = (name: string) => `[/bin/sh, -c, "printf x >> ${path.join(dir, name)}"]`;
let agent: AgentHarness;

before(async () => {
  writeFileSync(path.join(dir, "svc.pid"), `${service.pid}\n`);
  writeFileSync(path.join(dir, "svc.conf"), "x\n");
  agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${path.join(dir, "state")}
services:
  svc:
    reload: { signal: HUP, pidfile: ${path.join(dir, "svc.pid")} }
    health: [{ exec: ${probe("svc-probed")} }]
    configs: [{ path: ${path.join(dir, "svc.conf")} }]
  stopped:
    reload: { signal: HUP, pidfile: ${path.join(dir, "missing.pid")} }
    health: [{ exec: ${probe("stopped-probed")} }]
  unlocatable:
    reload: { command: [/bin/true] }
    health: [{ exec: ${probe("unlocatable-probed")} }]
`);
});

after(async () => {
  await agent?.stop();
  service.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("running_only answers running and the config paths without probing or hashing", async () => {
  const r = await agent.client.status("svc", { runningOnly: true });
  const s = r.services[0]!;
  assert.equal(s.running, true);
  assert.equal(s.main?.pid, service.pid);
  assert.deepEqual(s.configs.map((c) => [c.path, c.sha256]), [[path.join(dir, "svc.conf"), ""]]);
  assert.deepEqual([s.probes.length, s.workerPids.length, s.listenSocketInodes.length], [0, 0, 0]);
  assert.equal(ran("svc-probed"), 0, "the probe did not run");
  // The full Status still probes and hashes.
  const full = (await agent.client.status("svc")).services[0]!;
  assert.equal(full.healthy, true);
  assert.ok(ran("svc-probed") > 0, "the full Status ran the probe");
  assert.match(full.configs[0]!.sha256, /^[0-9a-f]{64}$/);
});

test("running_only says why a service is not running, without probing it", async () => {
  const s = (await agent.client.status("stopped", { runningOnly: true })).services[0]!;
  assert.equal(s.running, false);
  assert.match(s.error, /missing\.pid does not exist/);
  assert.equal(ran("stopped-probed"), 0);
});

test("running_only probes when running rests on the probes (no main process can be located)", async () => {
  const s = (await agent.client.status("unlocatable", { runningOnly: true })).services[0]!;
  assert.equal(s.running, true);
  assert.equal(s.healthy, true);
  assert.equal(ran("unlocatable-probed"), 1);
});

test("running_only for every service at once, as the full Status", async () => {
  const r = await agent.client.status("", { runningOnly: true });
  assert.deepEqual(r.services.map((s) => [s.name, s.running]).sort(), [["stopped", false], ["svc", true], ["unlocatable", true]]);
});

test("running_only answers are reused like the full Status's: a burst of calls locates and probes once", async () => {
  await new Promise((r) => setTimeout(r, 600)); // past the reuse window of the earlier tests
  const before = ran("unlocatable-probed");
  for (let i = 0; i < 20; i++) assert.equal((await agent.client.status("unlocatable", { runningOnly: true })).services[0]!.running, true);
  assert.equal(ran("unlocatable-probed") - before, 1);
});

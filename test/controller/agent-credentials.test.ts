// Agent credentials are resolved with the inventory: a missing token file is a
// config problem at start-up and on SIGHUP (refused, the old inventory kept);
// a token file removed in the middle of a rollout fails the hosts it is needed
// for with the real reason, and the summary says so — never "the controller
// stopped".
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { CONTROLLER_BIN, startControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { FLEET_BIN, runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";
import { waitFor } from "../helpers/wait-for.js";

const scratch = scratchDir();
const token = path.join(scratch.dir, "agent.token");
const agentToken = path.join(scratch.dir, "agent-side.token");
const hosts: { web: WebService; agent: AgentHarness }[] = [];
const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };

before(async () => {
  writeFileSync(token, "s3cret-token-for-the-fleet-agents\n");
  writeFileSync(agentToken, "s3cret-token-for-the-fleet-agents\n");
  for (const name of ["c1", "c2", "c3"]) {
    const web = await startWebService(scratch.dir, name);
    const agent = await startAgent(`listen: 127.0.0.1:0
auth: { token_file: ${agentToken} }
services:
  web:
    reload: { signal: HUP, pidfile: ${web.pidfile} }
    generation: { http: "http://127.0.0.1:${web.port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${web.port}/healthz" }]
    healthy_for: 300ms
`);
    hosts.push({ web, agent });
  }
});
after(async () => {
  for (const h of hosts) {
    await h.agent.stop();
    await h.web.stop();
  }
  scratch.remove();
});

/** fleet.yaml with the group of three token agents and `agents.token_file`. */
function writeInv(tokenFile: string): string {
  const file = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${hosts.map((h) => h.agent.address).join(", ")}]\n    policy: { canary: 1, batch: 1 }\n`);
  writeFileSync(file, readFileSync(file, "utf8").replace("agents: { deadline: 3s,", `agents: { token_file: ${tokenFile}, deadline: 3s,`));
  return file;
}

test("an inventory naming a missing token file is refused at start-up", async () => {
  const file = writeInv(path.join(scratch.dir, "missing.token"));
  const child = spawn(CONTROLLER_BIN, ["--config", file], { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise((resolve) => child.on("exit", resolve));
  assert.equal(code, 2);
  assert.match(err, /line 2: agents\.token_file: cannot read .*missing\.token: ENOENT/);
});

test("SIGHUP to a missing token file is refused and the old inventory kept; a token removed mid-rollout fails that host with the reason", async () => {
  const file = writeInv(token);
  const daemon = await startControllerDaemon(file);
  try {
    writeInv(path.join(scratch.dir, "missing.token"));
    daemon.child.kill("SIGHUP");
    await waitFor("the refusal", () => daemon.output().includes("inventory reload refused"));
    assert.match(daemon.output(), /agents\.token_file: cannot read [^"]*missing\.token: ENOENT/);
    const before = await Promise.all(hosts.map((h) => h.web.generation()));
    const ok = await runFleet(["reload", "web"], env);
    assert.equal(ok.code, 0, `the old inventory (and its token) is kept: ${ok.stdout}${ok.stderr}`);

    // Remove the token file while the canary reloads: the next host cannot be asked.
    const cli = spawn(FLEET_BIN, ["reload", "web", "--json"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, timeout: 60_000 });
    let out = "";
    cli.stdout.on("data", (d) => {
      out += d;
      if (/"kind":"host_started"/.test(out)) rmSync(token, { force: true });
    });
    const code = await new Promise((resolve) => cli.on("exit", resolve));
    assert.equal(code, 1, out);
    const events = out.trim().split("\n").map((l) => JSON.parse(l));
    const done = events.filter((e) => e.kind === "host_finished");
    assert.deepEqual(done.map((e) => [e.host, e.outcome]), [[hosts[0]!.agent.address, "reloaded"], [hosts[1]!.agent.address, "failed"]]);
    assert.match(done[1].message, /agents\.token_file .*agent\.token can no longer be read \(ENOENT\)/);
    const finished = events.find((e) => e.kind === "finished");
    assert.equal(finished.outcome, "failed");
    assert.match(finished.message, /^halted: 1 failure exceeds the allowed 0 \(.*agents\.token_file .*can no longer be read/);
    assert.doesNotMatch(finished.message, /controller stopped/);
    const shown = JSON.parse((await runFleet(["show", String(finished.rolloutId), "--json"], env)).stdout);
    assert.deepEqual(shown.steps.map((s: { status: string }) => s.status), ["done", "done", "skipped"], "no host left running");
    const after = await Promise.all(hosts.map((h) => h.web.generation()));
    assert.deepEqual(after.map((g, i) => g.reloads - before[i]!.reloads), [2, 1, 1], "the third host was never asked; the second only by the first reload");
  } finally {
    await daemon.stop();
  }
});

// The start-up sweep of leftover temp files, attacked through the real agent
// process, with a declared directory stuffed with names of our temp files
// (someone who can write there, or many crashes):
// - SIGHUPs sent all through the start (the sweep included) never take the
//   agent down; the config is reloaded once it serves;
// - one start removes a bounded number of them and logs a count and a few
//   names (not one line with every path); the next start goes on.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { SWEEP_LIMITS } from "../../agent/configs/sweep-leftovers.js";
import { AGENT_BIN, spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const tempName = (i: number) => `.app.conf.fleet-tmp-${i.toString(16).padStart(12, "0")}`;
const fill = (dir: string, from: number, to: number) => {
  for (let i = from; i < to; i++) closeSync(openSync(path.join(dir, tempName(i)), "w"));
};
const leftovers = (dir: string) => readdirSync(dir).filter((n) => n.startsWith(".app.conf.fleet-tmp-")).length;

describe("start-up sweep", () => {
  const scratch = scratchDir("fleet-startup-sweep-");
  const agents: AgentProcess[] = [];
  after(() => {
    for (const a of agents) a.child.kill("SIGKILL");
    scratch.remove();
  });

  const setup = (name: string, count: number) => {
    const d = path.join(scratch.dir, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, "app.conf"), "v0\n");
    fill(d, 0, count);
    const yaml = path.join(scratch.dir, `${name}.yaml`);
    writeFileSync(yaml, `listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state-${name}
services:
  app:
    reload: { command: [/bin/true] }
    generation: none
    configs: [{ path: ${path.join(d, "app.conf")} }]
`);
    return { d, yaml };
  };

  test("SIGHUPs all through the start, the sweep included, never take the agent down", async () => {
    const { yaml } = setup("sighup", 20_000);
    const child = spawn(AGENT_BIN, ["--config", yaml], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (out += b));
    let exited: string | undefined;
    child.once("exit", (code, signal) => (exited = `code ${code}, signal ${signal}`));
    try {
      // The insecure warning is logged once the config is read, right before the sweep.
      await waitFor("the agent to read its config", () => out.includes("running with insecure: true") || exited, 20_000);
      let sent = 0;
      const listening = () => out.includes('"msg":"agent listening"');
      while (!exited && !listening() && sent < 2_000) {
        child.kill("SIGHUP");
        sent++;
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(exited, undefined, `SIGHUP #${sent} during the start took the agent down\n${out.slice(0, 600)}`);
      assert.ok(sent >= 1);
      await waitFor("the queued SIGHUP to reload the config once the agent serves", () => out.includes('"msg":"config reloaded"') || exited, 20_000);
      assert.equal(exited, undefined, out.slice(-600));
      console.log(`# ${sent} SIGHUPs before the agent listened; it kept running`);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("one start removes a bounded number of leftovers and logs a count and a few names; the next start goes on", async () => {
    const total = SWEEP_LIMITS.removed * 2 + 500;
    const { d, yaml } = setup("bounded", total);
    const first = await spawnAgent(yaml);
    agents.push(first);
    assert.equal(leftovers(d), total - SWEEP_LIMITS.removed, "the first start removed another number than its limit");
    const removedLine = first.output().split("\n").find((l) => l.includes("removed leftover temp files"));
    assert.ok(removedLine, first.output().slice(0, 600));
    const logged = JSON.parse(removedLine) as { count: number; removed: string[] };
    assert.equal(logged.count, SWEEP_LIMITS.removed);
    assert.ok(logged.removed.length > 0 && logged.removed.length <= 10, `${logged.removed.length} names logged`);
    assert.ok(removedLine.length < 4096, `a log line of ${removedLine.length} bytes`);
    assert.match(first.output(), /start-up sweep stopped at its limit/);
    first.child.kill("SIGKILL");
    await first.exited();

    const second = await spawnAgent(yaml);
    agents.push(second);
    assert.equal(leftovers(d), total - 2 * SWEEP_LIMITS.removed);
    second.child.kill("SIGKILL");
    await second.exited();
    const third = await spawnAgent(yaml);
    agents.push(third);
    assert.equal(leftovers(d), 0);
    assert.doesNotMatch(third.output(), /stopped at its limit/);
  });
});

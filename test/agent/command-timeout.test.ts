// Every child process is bounded: a grandchild that keeps the output pipe open
// cannot stretch a check past its timeout, the whole process group dies, and
// the service's lock is free for the next call.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { outcomeToWord } from "../../common/outcome-words.js";
import { ConfigChange } from "../../proto/gen/fleet/agent/v1/agent.js";
import { processGroupRunner } from "../../agent/process/command-runner.js";
import { listProcs } from "../../agent/process/proc-fs.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";

/** Processes still running a command line that contains `marker`. */
const survivors = async (marker: string) => (await listProcs()).filter((p) => p.command.includes(marker));

describe("the command runner", () => {
  test("a grandchild holding the pipe: resolved at the timeout, reported timed out, the whole group killed", async () => {
    const marker = `sleep 61.${process.pid}`;
    const t0 = performance.now();
    const r = await processGroupRunner.run(["/bin/sh", "-c", `echo started; ${marker} & exit 0`], { timeoutMs: 1000 });
    const ms = performance.now() - t0;
    assert.equal(r.timedOut, true);
    assert.ok(ms < 2500, `returned after ${Math.round(ms)} ms`);
    assert.equal(r.output, "started");
    assert.deepEqual(await survivors(marker), [], "the grandchild was killed with its group");
  });

  test("a child that ignores SIGTERM is killed; an abort stops it too", async () => {
    const r = await processGroupRunner.run(["/bin/sh", "-c", "trap '' TERM; sleep 30"], { timeoutMs: 300 });
    assert.equal(r.timedOut, true);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const a = await processGroupRunner.run(["/bin/sleep", "30"], { timeoutMs: 60_000, signal: ac.signal });
    assert.equal(a.aborted, true);
    assert.ok(a.durationMs < 5000);
  });

  test("exit codes, a missing program, and output kept to its last 16 KiB", async () => {
    assert.equal((await processGroupRunner.run(["/bin/sh", "-c", "exit 3"], { timeoutMs: 5000 })).exitCode, 3);
    const missing = await processGroupRunner.run(["/nonexistent/program"], { timeoutMs: 5000 });
    assert.match(missing.spawnError ?? "", /ENOENT/);
    const chatty = await processGroupRunner.run(["/bin/sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' x; echo END"], { timeoutMs: 10_000 });
    assert.ok(chatty.output.length <= 16 * 1024 && chatty.output.endsWith("END"), `${chatty.output.length} chars`);
  });
});

describe("a push whose check leaves a grandchild holding the pipe", () => {
  const scratch = scratchDir();
  let web: WebService;
  let agent: AgentHarness;
  const marker = `sleep 60.${process.pid}`;

  before(async () => {
    web = await startWebService(scratch.dir, "web");
    agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
services:
  web:
    reload: { signal: HUP, pidfile: ${web.pidfile} }
    generation: { http: "http://127.0.0.1:${web.port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${web.port}/healthz" }]
    # The pushed file (it says v2) makes the check leave a grandchild holding the pipe; the live file passes.
    check: [/bin/sh, -c, 'grep -q v2 "$0" && { ${marker} & exit 0; }; exit 0', "{path}"]
    command_timeout: 2s
    configs: [{ path: ${web.configFile} }]
`);
  });
  after(async () => {
    await agent?.stop();
    await web?.stop();
    scratch.remove();
  });

  test("returns within 4 s saying timed out; a Reload right after completes normally", async () => {
    const live = readFileSync(web.configFile);
    const content = Buffer.from(JSON.stringify({ healthy: true, body: "v2" }));
    const t0 = performance.now();
    const r = await agent.client.pushConfig({ requestId: "grandchild", service: "web", path: web.configFile, content, sha256: createHash("sha256").update(content).digest("hex"), allowRestart: false });
    const pushMs = performance.now() - t0;
    console.log(`# push with a pipe-holding grandchild returned after ${Math.round(pushMs)} ms (command_timeout 2000 ms)`);
    assert.ok(pushMs < 4000, `push took ${Math.round(pushMs)} ms`);
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_REJECTED);
    assert.match(r.reason, /the check refused the new file; the live file was not touched: timed out after 2000 ms/);
    assert.ok(readFileSync(web.configFile).equals(live));
    assert.deepEqual(await survivors(marker), [], "the grandchild was killed");

    const reload = await agent.client.reload({ requestId: "after-grandchild", service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
    assert.equal(outcomeToWord(reload.outcome), "reloaded", reload.reason);
    assert.equal(reload.evidence!.check!.ok, true);
  });
});

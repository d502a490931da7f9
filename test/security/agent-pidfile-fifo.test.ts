// A PID file replaced by a FIFO (or /dev/zero, or anything but a small regular file) cannot hang a
// reload, hold the service's lock or starve the agent's thread pool: it is opened non-blocking,
// read only as a small regular file, and refused with a reason.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createAgentClient } from "../../common/agent-client.js";
import { spawnAgent } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";

test("a PID file replaced by a FIFO neither hangs the reload nor the agent", async () => {
  const scratch = scratchDir();
  const good = spawn("/bin/sh", ["-c", 'trap "echo hup" HUP; while :; do sleep 1; done'], { stdio: "ignore" });
  let yaml = `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${scratch.dir}/state\nservices:\n  good:\n    reload: { signal: HUP, pidfile: ${scratch.dir}/good.pid }\n    generation: none\n`;
  for (let i = 0; i < 4; i++) {
    execFileSync("mkfifo", [path.join(scratch.dir, `f${i}.pid`)]);
    yaml += `  f${i}:\n    reload: { signal: HUP, pidfile: ${scratch.dir}/f${i}.pid }\n`;
  }
  writeFileSync(path.join(scratch.dir, "good.pid"), `${good.pid}\n`);
  const conf = path.join(scratch.dir, "agent.yaml");
  writeFileSync(conf, yaml);
  const agent = await spawnAgent(conf);
  const client = createAgentClient(agent.address);
  try {
    const fifo = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        client.reload({ requestId: `f${i}`, service: `f${i}`, allowRestart: false, generationTimeoutMs: 500, healthyForMs: 0 }, { deadlineMs: 8000 }).then(
          (r) => `answered: ${r.reason}`,
          (e: Error) => `no answer: ${e.message}`,
        ),
      ),
    );
    for (const f of fifo) assert.match(f, /^answered: .*(not a regular file|FIFO)/i, f);
    const status = await client.status(undefined, { deadlineMs: 5000 }).then(() => "ok", (e: Error) => e.message);
    assert.equal(status, "ok", "Status still answers");
  } finally {
    client.close();
    agent.child.kill("SIGKILL");
    await agent.exited();
    good.kill("SIGKILL");
    scratch.remove();
  }
});

// What a check leaves behind in its process group (a backgrounded helper with its output
// redirected) is killed when the check ends; it never outlives the reload as a root orphan.
// A child that calls setsid() leaves the group and cannot be caught this way (README: Limits).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createAgentClient } from "../../common/agent-client.js";
import { spawnAgent } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const pidsOf = (argv: string) => {
  try {
    return execFileSync("pgrep", ["-x", "-f", argv]).toString().trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

test("processes a check leaves behind do not outlive the reload", async () => {
  const scratch = scratchDir();
  const good = spawn("/bin/sh", ["-c", 'trap "echo hup" HUP; while :; do sleep 1; done'], { stdio: "ignore" });
  writeFileSync(path.join(scratch.dir, "good.pid"), `${good.pid}\n`);
  const conf = path.join(scratch.dir, "agent.yaml");
  writeFileSync(conf, `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${scratch.dir}/state\nservices:
  a:
    reload: { signal: HUP, pidfile: ${scratch.dir}/good.pid }
    generation: none
    check: ["/bin/sh", "-c", "sleep 3101 >/dev/null 2>&1 & exit 0"]
`);
  const agent = await spawnAgent(conf);
  const client = createAgentClient(agent.address);
  try {
    await new Promise((r) => setTimeout(r, 300));
    for (const s of ["a"]) await client.reload({ requestId: s, service: s, allowRestart: false, generationTimeoutMs: 500, healthyForMs: 0 });
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(pidsOf("sleep 3101"), [], "the background child of a check that exited 0 is still running");
  } finally {
    client.close();
    agent.child.kill("SIGKILL");
    await agent.exited();
    good.kill("SIGKILL");
    for (const p of pidsOf("sleep 3101")) process.kill(p, "SIGKILL");
    scratch.remove();
  }
});

// The agent as an unprivileged user asked to signal a root-owned process.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { createAgentClient } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { spawnAgent } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const notRoot = process.getuid?.() === 0 ? undefined : "needs root to start a root-owned process and an agent as another user (CI runs as root)";
if (notRoot) console.log(`# skipping permission test: ${notRoot}`);

test("an unprivileged agent gets a clear permission error naming both users, and the process is untouched", { skip: notRoot }, async () => {
  const scratch = scratchDir();
  // A root-owned daemon stand-in that handles SIGHUP by writing a file: no file proves no signal landed.
  const got = path.join(scratch.dir, "got-hup");
  const daemon = spawn("/bin/sh", ["-c", `trap 'echo hup >> ${got}' HUP; while :; do sleep 0.2; done`], { stdio: "ignore" });
  const pidfile = path.join(scratch.dir, "daemon.pid");
  writeFileSync(pidfile, `${daemon.pid}\n`);
  // The agent's own state_dir, which it (uid 65534) must own.
  const state = path.join(scratch.dir, "state");
  mkdirSync(state, { mode: 0o700 });
  chownSync(state, 65534, 65534);
  const conf = path.join(scratch.dir, "agent.yaml");
  writeFileSync(conf, `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${state}\nservices:\n  daemon:\n    reload: { signal: HUP, pidfile: ${pidfile} }\n`);
  await waitFor("the daemon to trap SIGHUP", async () => /^SigCgt:\s*[0-9a-f]*[13579bdf]$/m.test(await readFile(`/proc/${daemon.pid}/status`, "utf8"))).catch((err) => {
    daemon.kill("SIGKILL");
    throw err;
  });
  const agent = await spawnAgent(conf, { uid: 65534, gid: 65534, env: { ...process.env, HOME: "/tmp" } });
  const client = createAgentClient(agent.address);
  try {
    const d = await client.describe();
    assert.match(d.runAsUser, /uid 65534/);
    const r = await client.reload({ requestId: "perm-1", service: "daemon", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
    assert.equal(outcomeToWord(r.outcome), "refused", r.reason);
    assert.match(r.reason, /permission denied: the agent runs as user nobody \(uid 65534\) and may not signal pid \d+, which belongs to user root \(uid 0\)/);
    assert.equal(r.evidence!.signalled, false);
    assert.equal(daemon.exitCode, null);
    assert.equal(daemon.signalCode, null, "the daemon is still alive");
    assert.equal(existsSync(got), false, "the daemon never received SIGHUP");
  } finally {
    client.close();
    agent.child.kill("SIGTERM");
    await agent.exited();
    daemon.kill("SIGKILL");
    scratch.remove();
  }
});

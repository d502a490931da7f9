// expect.exe cannot be satisfied by an unprivileged user who bind-mounts another program over the
// declared path in a private mount namespace: outside the agent's own mount namespace the
// executable must be the very file (device and inode) at expect.exe.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createAgentClient } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { spawnAgent } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const userns = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "unshare", "-Urm", "true"]).status === 0;

test("expect.exe is not satisfied by another program mounted over the declared path in a private mount namespace", { skip: userns ? undefined : "no unprivileged user namespaces here" }, async () => {
  const scratch = scratchDir();
  const real = path.join(scratch.dir, "real-daemon");
  copyFileSync("/bin/sleep", real);
  chmodSync(real, 0o755);
  const got = path.join(scratch.dir, "got-hup");
  writeFileSync(got, "");
  chmodSync(got, 0o666);
  const impostor = spawn(
    "setpriv",
    ["--reuid=65534", "--regid=65534", "--clear-groups", "unshare", "-Urm", "/bin/sh", "-c", `mount --bind /bin/bash ${real} && exec ${real} -c 'trap "echo hup >> ${got}" HUP; while :; do sleep 0.2; done'`],
    { stdio: "ignore" },
  );
  const pid = await waitFor("the impostor to exec", () => {
    const p = impostor.pid!;
    try {
      return readlinkSync(`/proc/${p}/exe`) === real && /^SigCgt:\s*[0-9a-f]*[13579bdf]$/m.test(readFileSync(`/proc/${p}/status`, "utf8")) ? p : undefined;
    } catch {
      return undefined;
    }
  }, 10_000);
  const pidfile = path.join(scratch.dir, "d.pid");
  writeFileSync(pidfile, `${pid}\n`);
  const conf = path.join(scratch.dir, "agent.yaml");
  writeFileSync(conf, `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${scratch.dir}/state\nservices:\n  d:\n    reload: { signal: HUP, pidfile: ${pidfile} }\n    expect: { exe: ${real} }\n    generation: none\n`);
  const agent = await spawnAgent(conf);
  const client = createAgentClient(agent.address);
  try {
    const r = await client.reload({ requestId: "exe-1", service: "d", allowRestart: false, generationTimeoutMs: 500, healthyForMs: 0 });
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(readFileSync(got, "utf8"), "", "the impostor (bash, not the declared program) received SIGHUP");
    assert.equal(outcomeToWord(r.outcome), "refused", r.reason);
  } finally {
    client.close();
    agent.child.kill("SIGKILL");
    await agent.exited();
    impostor.kill("SIGKILL");
    try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
    scratch.remove();
    void existsSync;
  }
});

// The check of a config set binds into its namespace only the very staged files the agent wrote:
// each is opened without following a symlink and checked (device and inode) before any mount, and
// bound from that open file. A local user who owns the config directory and renames a symlink over
// a staged name cannot make the root check read or write another file (a root-only secret).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const PY = "/usr/bin/python3";
const skip = process.getuid?.() !== 0 ? "mount namespaces need root" : existsSync(PY) ? undefined : `${PY} not installed`;
const NOBODY = 65534;
const PLANTER = `
import os, sys, time
d, target, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
end, n = time.time() + secs, 0
while time.time() < end:
    try:
        for name in os.listdir(d):
            if ".fleet-staged-" in name:
                t = os.path.join(d, "planted-%d" % n); n += 1
                try:
                    os.symlink(target, t); os.rename(t, os.path.join(d, name))
                except OSError:
                    try: os.unlink(t)
                    except OSError: pass
    except OSError:
        pass
`;

describe("staged copy swapped for a symlink before the bind mount", { skip }, () => {
  const scratch = scratchDir("fleet-attack-sets-");
  const conf = path.join(scratch.dir, "conf");
  const secret = path.join(scratch.dir, "secret", "shadow");
  const SECRET = "ROOT-ONLY-SECRET\n";
  let agent: AgentHarness;

  before(async () => {
    mkdirSync(conf);
    chownSync(conf, NOBODY, NOBODY);
    mkdirSync(path.dirname(secret), { mode: 0o700 });
    writeFileSync(secret, SECRET, { mode: 0o600 });
    writeFileSync(path.join(conf, "app.conf"), "v0\n");
    mkdirSync(path.join(scratch.dir, "state"));
    agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
limits: { mutations_per_second: 100000 }
services:
  app:
    reload: { command: [/bin/true] }
    generation: none
    healthy_for: 0ms
    check: [/bin/sh, -c, 'cat "$0"; echo written-by-check >> "$0"; exit 1', "{path}"]
    configs: [{ path: ${conf}/app.conf, owner: nobody }]
`);
  });
  after(async () => {
    await agent?.stop();
    scratch.remove();
  });

  test("the check sees only the pushed bytes; no root-only file outside is read or written", async () => {
    const planter = spawn("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", PY, "-c", PLANTER, conf, secret, "6"], { stdio: "ignore" });
    const done = new Promise((r) => planter.once("exit", r));
    await new Promise((r) => setTimeout(r, 300));
    const outputs: string[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const content = Buffer.from(`pushed v${i}\n`);
        const r = await agent.client
          .pushConfig({ requestId: `attack-${i}`, service: "app", allowRestart: false, files: [{ path: path.join(conf, "app.conf"), content, sha256: sha(content) }] })
          .catch((e: Error) => ({ check: { output: "" }, reason: e.message }));
        outputs.push(r.check?.output ?? "");
      }
    } finally {
      planter.kill("SIGKILL");
      await done;
    }
    assert.equal(readFileSync(secret, "utf8"), SECRET, "the check wrote into a root-only file outside its namespace");
    for (const o of outputs) assert.doesNotMatch(o, /ROOT-ONLY-SECRET/, "the check read a root-only file through the planted symlink");
  });
});

// Hostile conditions for config sets, whose check runs in a private mount
// namespace: one of the set's directories is swapped with a symlink to an
// attacker's directory (renameat2 RENAME_EXCHANGE, a tight loop) while sets
// are pushed and rolled back (new files, removals: overlays and whiteouts).
// Nothing may be written or removed outside, no staged file left, no mount
// leak into the host's namespace. A check that hangs inside the namespace is
// killed with its whole process group.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { AgentCallError } from "../../common/agent-client.js";
import { listProcs } from "../../agent/process/proc-fs.js";
import { ConfigChange } from "../../proto/gen/fleet/agent/v1/agent.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { python, startSwapper } from "../helpers/rename-swapper.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const ITERATIONS = 100;
/** Most pushes meet the swapped directory; keep going (bounded) until a few got through, with and without restore. */
const MAX_ITERATIONS = 600;
const WANTED_INSTALLS = 3;
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const skip = !python ? "python3 (for renameat2) not installed" : process.getuid?.() !== 0 ? "mount namespaces need root" : undefined;
const mounts = () => readFileSync("/proc/self/mountinfo", "utf8");

describe("config sets under symlink races", { skip }, () => {
  const scratch = scratchDir("fleet-13a-race-");
  const root = scratch.dir;
  const decl = path.join(root, "decl");
  const decl2 = path.join(root, "decl2");
  const evil = path.join(root, "evil");
  const evilLink = path.join(root, "evil-link");
  const EVIL = { "app.conf": Buffer.from("attacker's app.conf\n"), "extra.conf": Buffer.from("attacker's extra.conf\n") };
  const files = { app: path.join(decl, "app.conf"), extra: path.join(decl, "extra.conf"), other: path.join(decl2, "other.conf") };
  let agent: AgentHarness;

  before(async () => {
    mkdirSync(decl);
    mkdirSync(decl2);
    mkdirSync(evil);
    writeFileSync(files.app, "v0\n");
    writeFileSync(files.other, "v0\n");
    for (const [name, bytes] of Object.entries(EVIL)) writeFileSync(path.join(evil, name), bytes);
    symlinkSync(evil, evilLink);
    mkdirSync(path.join(root, "state"));
    agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${root}/state
limits: { mutations_per_second: 100000 }
services:
  app:
    reload: { command: [/bin/true] }
    generation: none
    healthy_for: 0ms
    check: [/bin/sh, -c, 'cat "$0" ${files.extra} ${files.other} >/dev/null 2>&1 || true', "{path}"]
    configs: [{ path: ${files.app} }, { path: ${files.extra} }, { path: ${files.other} }]
  hang:
    reload: { command: [/bin/true] }
    generation: none
    check: [/bin/sleep, "61.3013"]
    command_timeout: 1s
    configs: [{ path: ${path.join(decl2, "hang.conf")} }, { path: ${path.join(decl2, "hang2.conf")} }]
`);
  });
  after(async () => {
    await agent?.stop();
    scratch.remove();
  });

  const leftovers = () => [root, decl, decl2, evil].flatMap((d) => readdirSync(d).filter((f) => f.includes(".fleet-")));

  test(`a set's directory swapped with a symlink during ${ITERATIONS}+ pushes and rollbacks: nothing written or removed outside, nothing left, no mount leaked`, async () => {
    const mountsBefore = mounts();
    const swapper = await startSwapper(decl, evilLink);
    const tally = new Map<string, number>();
    const count = (k: string) => tally.set(k, (tally.get(k) ?? 0) + 1);
    try {
      const installs = (k: string) => tally.get(k) ?? 0;
      const enough = () => installs("CONFIG_CHANGE_INSTALLED") >= WANTED_INSTALLS && installs("CONFIG_CHANGE_INSTALLED restored") >= WANTED_INSTALLS;
      for (let i = 0; i < MAX_ITERATIONS && (i < ITERATIONS || !enough()); i++) {
        const set = [files.app, files.extra, files.other].map((p) => {
          const content = Buffer.from(`${path.basename(p)} version ${i}\n`);
          return { path: p, content, sha256: sha(content) };
        });
        // generation: none makes every reload "unverified" (not ok): with restore_on_failure every other push is put back at once.
        const restoreOnFailure = i % 2 === 0;
        const pushed = await agent.client.pushConfig({ requestId: `race-${i}`, service: "app", allowRestart: false, restoreOnFailure, files: set }).catch((e: AgentCallError) => e);
        if (!("files" in pushed)) {
          count(status[pushed.code] ?? String(pushed.code));
          continue;
        }
        count(`${ConfigChange[pushed.change]}${pushed.restored ? " restored" : ""}`);
        if (pushed.change !== ConfigChange.CONFIG_CHANGE_INSTALLED || pushed.restored) continue;
        // Back to what was there, removing extra.conf if it was new: a whiteout in the check's overlay.
        const back = await agent.client
          .rollbackConfig({ requestId: `race-rb-${i}`, service: "app", allowRestart: false, files: pushed.files.map((f) => ({ path: f.path, sha256: f.previousSha256 })) })
          .then((r) => `rollback ${ConfigChange[r.change]}`, (e: AgentCallError) => `rollback ${status[e.code] ?? e.code}`);
        count(back);
      }
    } finally {
      const swaps = await swapper.stop();
      console.log(`# ${[...tally.values()].reduce((a, b) => a + b, 0)} set pushes and rollbacks during ${swaps} swaps: ${[...tally].map(([k, n]) => `${k}=${n}`).join(", ")}`);
    }
    assert.ok(lstatSync(decl).isDirectory() && lstatSync(evilLink).isSymbolicLink(), "swapper left things in place");
    for (const k of tally.keys()) assert.match(k, /^(rollback )?(CONFIG_CHANGE_INSTALLED|CONFIG_CHANGE_INSTALLED restored|PERMISSION_DENIED|FAILED_PRECONDITION)$/, `unexpected result: ${k}`);
    assert.ok((tally.get("CONFIG_CHANGE_INSTALLED") ?? 0) > 0 && (tally.get("CONFIG_CHANGE_INSTALLED restored") ?? 0) > 0, "some pushes got through between swaps, with and without restore");
    assert.ok((tally.get("PERMISSION_DENIED") ?? 0) + (tally.get("FAILED_PRECONDITION") ?? 0) > 0, "some pushes met the swapped directory");
    assert.deepEqual(readdirSync(evil).sort(), ["app.conf", "extra.conf"], "nothing created or removed in the symlink's target");
    for (const [name, bytes] of Object.entries(EVIL)) assert.ok(readFileSync(path.join(evil, name)).equals(bytes), `the attacker's ${name} untouched`);
    assert.deepEqual(leftovers(), [], "no staged or temp file left");
    assert.equal(mounts(), mountsBefore, "no mount of the check's namespace leaked into the host's");
    assert.deepEqual(readdirSync(path.join(root, "state", "check-namespace")), [], "the scratch directory is empty on the real filesystem");
  });

  test("a check that hangs inside the namespace: killed at command_timeout with its whole group, staged files removed, nothing installed", async () => {
    const mountsBefore = mounts();
    const set = ["hang.conf", "hang2.conf"].map((n) => {
      const content = Buffer.from(`${n}\n`);
      return { path: path.join(decl2, n), content, sha256: sha(content) };
    });
    const r = await agent.client.pushConfig({ requestId: "hang-1", service: "hang", allowRestart: false, files: set });
    assert.equal(r.ok, false);
    assert.match(r.reason, /the check refused the new set of 2 files; no live file was touched: timed out after 1000 ms; its process group was killed/);
    assert.equal(existsSync(set[0]!.path) || existsSync(set[1]!.path), false, "nothing installed (both files were new)");
    assert.deepEqual(leftovers(), []);
    const sleepers = (await listProcs()).filter((p) => p.command === "/bin/sleep 61.3013");
    assert.deepEqual(sleepers.map((p) => p.pid), [], "the check inside the namespace was killed");
    assert.equal(mounts(), mountsBefore);
  });
});

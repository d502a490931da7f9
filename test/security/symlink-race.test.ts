// Symlink races during config pushes, as an attacker with write access to a
// parent directory would run them: renameat2(RENAME_EXCHANGE) swaps the
// declared directory, or the declared file, with a symlink, in a tight loop,
// while hundreds of pushes and Status calls run. Nothing may be written
// outside the declared directory, nothing read from outside it, and no temp
// file may be left.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { AgentCallError } from "../../common/agent-client.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { python, startSwapper } from "../helpers/rename-swapper.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const ITERATIONS = 300;
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** Every file under `dir`, recursively, with its bytes. */
function allFiles(dir: string): { file: string; bytes: Buffer }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const file = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
      return { file, bytes: readFileSync(file) };
    });
}

describe("symlink races during config pushes", { skip: python ? undefined : "python3 (for renameat2) not installed" }, () => {
  const scratch = scratchDir();
  const root = scratch.dir;
  const decl = path.join(root, "decl");
  const declFile = path.join(decl, "app.conf");
  const evil = path.join(root, "evil");
  const evilLink = path.join(root, "evil-link");
  const decl2 = path.join(root, "decl2");
  const declFile2 = path.join(decl2, "app.conf");
  const secret = path.join(root, "secret");
  const secretLink = path.join(root, "secret-link");
  const SECRET = Buffer.from("root-only secret: do not leak\n");
  const EVIL = Buffer.from("attacker's file\n");
  let agent: AgentHarness;

  before(async () => {
    mkdirSync(decl);
    writeFileSync(declFile, "v0\n");
    mkdirSync(evil);
    writeFileSync(path.join(evil, "app.conf"), EVIL);
    symlinkSync(evil, evilLink);
    mkdirSync(decl2);
    writeFileSync(declFile2, "v0\n");
    writeFileSync(secret, SECRET, { mode: 0o600 });
    chmodSync(secret, 0o600);
    symlinkSync(secret, secretLink);
    mkdirSync(path.join(root, "state"));
    const service = (name: string, file: string) => `  ${name}:
    reload: { command: [/bin/true] }
    generation: none
    healthy_for: 0ms
    check: [/bin/true, "{path}"]
    configs: [{ path: ${file}, mode: "0644" }]
`;
    agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${root}/state
limits: { mutations_per_second: 100000 }
services:
${service("dirswap", declFile)}${service("fileswap", declFile2)}`);
  });
  after(async () => {
    await agent?.stop();
    scratch.remove();
  });

  /** Pushes ITERATIONS versions while Status runs alongside; tallies outcomes and every hash the agent reported. */
  async function pushDuringSwaps(service: string, file: string, swap: [string, string]) {
    const swapper = await startSwapper(...swap);
    const tally = new Map<string, number>();
    const hashesSeen = new Set<string>();
    let statusRunning = true;
    const statusLoop = (async () => {
      while (statusRunning) {
        const s = await agent.client.status(service).catch(() => undefined);
        for (const c of s?.services[0]?.configs ?? []) if (c.sha256) hashesSeen.add(c.sha256);
      }
    })();
    try {
      for (let i = 0; i < ITERATIONS; i++) {
        const content = Buffer.from(`${service} version ${i}\n`);
        const r = await agent.client.pushConfig({ requestId: `${service}-${i}`, service, path: file, content, sha256: sha(content), allowRestart: false }).then(
          (res) => {
            hashesSeen.add(res.previousSha256);
            return res.ok ? "ok" : `not ok: ${res.reason}`;
          },
          (err: AgentCallError) => status[err.code] ?? String(err.code),
        );
        tally.set(r, (tally.get(r) ?? 0) + 1);
      }
    } finally {
      statusRunning = false;
      await statusLoop;
    }
    const swaps = await swapper.stop();
    console.log(`# ${service}: ${ITERATIONS} pushes during ${swaps} swaps: ${[...tally].map(([k, n]) => `${k}=${n}`).join(", ")}`);
    assert.ok(swaps > ITERATIONS, `only ${swaps} swaps happened`);
    assert.equal(tally.get("INTERNAL") ?? 0, 0, "no internal errors");
    for (const k of tally.keys()) assert.match(k, /^(ok|PERMISSION_DENIED|FAILED_PRECONDITION)$/);
    assert.ok((tally.get("ok") ?? 0) > 0, "some pushes got through between swaps");
    assert.ok((tally.get("PERMISSION_DENIED") ?? 0) + (tally.get("FAILED_PRECONDITION") ?? 0) > 0, "some pushes met a swapped path");
    return hashesSeen;
  }

  const tempFiles = () => [root, decl, decl2, evil].flatMap((d) => readdirSync(d).filter((f) => f.includes(".fleet-")));
  const versionStore = () => allFiles(path.join(root, "state"));

  test(`the declared directory swapped with a symlink ${ITERATIONS}+ times: nothing written or read outside it`, async () => {
    const hashes = await pushDuringSwaps("dirswap", declFile, [decl, evilLink]);
    assert.ok(lstatSync(decl).isDirectory() && lstatSync(evilLink).isSymbolicLink(), "swapper left things in place");
    assert.deepEqual(readdirSync(evil), ["app.conf"], "0 files written into the symlink's target");
    assert.ok(readFileSync(path.join(evil, "app.conf")).equals(EVIL), "the attacker's file was not replaced");
    assert.ok(!hashes.has(sha(EVIL)), "0 reads outside: the attacker's file's hash never came back");
    assert.ok(!versionStore().some((v) => v.bytes.equals(EVIL)), "the version store holds nothing from outside");
    assert.deepEqual(tempFiles(), [], "0 temp files left");
  });

  test(`the declared file swapped with a symlink to a 0600 secret ${ITERATIONS}+ times: the secret is never read, copied or stored`, async () => {
    const hashes = await pushDuringSwaps("fileswap", declFile2, [declFile2, secretLink]);
    assert.ok(!hashes.has(sha(SECRET)), "the secret's hash never came back (previousSha256 or Status)");
    assert.ok(!versionStore().some((v) => v.bytes.equals(SECRET)), "the version store holds no copy of the secret");
    assert.ok(!allFiles(decl2).some((f) => f.bytes.equals(SECRET)), "the secret's bytes are not in the declared directory");
    assert.ok(readFileSync(secret).equals(SECRET), "the secret is unchanged");
    assert.equal(statSync(secret).mode & 0o777, 0o600);
    assert.deepEqual(tempFiles(), [], "0 temp files left");
  });
});

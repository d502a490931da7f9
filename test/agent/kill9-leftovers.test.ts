// The real agent is kill -9'd at many moments of a set push (while its check
// runs in a mount namespace with staged copies beside the live files). The
// next start removes exactly our own leftovers (.NAME.fleet-staged-HEX12 and
// .NAME.fleet-tmp-HEX12, regular files, NAME a declared file of that
// directory) and nothing else: look-alike symlinks, directories, undeclared
// names and other suffixes stay, and a symlink's target is never touched.
// Every live file is, after each kill, either its old or its new content.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { createAgentClient } from "../../common/agent-client.js";
import { spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const skip = process.getuid?.() !== 0 ? "mount namespaces (the staged check) need root" : undefined;
const OURS = /^\..+\.fleet-(tmp|staged)-[0-9a-f]{12}$/;

describe("kill -9 during a set push", { skip }, () => {
  const scratch = scratchDir("fleet-kill9-");
  const d = path.join(scratch.dir, "d");
  const secret = path.join(scratch.dir, "secret");
  const agents: AgentProcess[] = [];
  after(() => {
    for (const a of agents) a.child.kill("SIGKILL");
    scratch.remove();
  });

  /** Names that look like ours but are not ours to remove. */
  const decoys = [".a.conf.fleet-staged-zzzzzzzzzzzz", ".other.conf.fleet-tmp-0123456789ab", ".b.conf.fleet-tmp-0123456789ab", ".a.conf.fleet-tmp-abcdefabcdef", ".a.conf.fleet-tmp-0123456789abc"];

  function plant() {
    writeFileSync(path.join(d, decoys[0]!), "not hex\n");
    writeFileSync(path.join(d, decoys[1]!), "undeclared name\n");
    symlinkSync(secret, path.join(d, decoys[2]!));
    mkdirSync(path.join(d, decoys[3]!));
    writeFileSync(path.join(d, decoys[4]!), "13 hex digits\n");
    // A real leftover of ours, whatever the kill timings below produce.
    writeFileSync(path.join(d, ".b.conf.fleet-tmp-00112233aabb"), "left by an earlier crash\n");
  }

  const leftovers = () => readdirSync(d).filter((n) => OURS.test(n) && !decoys.includes(n));

  test("the next start removes our leftovers only, and each live file is old or new", async () => {
    mkdirSync(d);
    mkdirSync(path.join(scratch.dir, "state"));
    writeFileSync(secret, "secret\n", { mode: 0o600 });
    writeFileSync(path.join(d, "a.conf"), "a-old\n");
    writeFileSync(path.join(d, "b.conf"), "b-old\n");
    plant();
    const yaml = path.join(scratch.dir, "agent.yaml");
    writeFileSync(yaml, `listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
services:
  app:
    reload: { command: [/bin/true] }
    generation: none
    healthy_for: 0ms
    check: [/bin/sh, -c, 'sleep 0.4']
    command_timeout: 10s
    configs: [{ path: ${d}/a.conf }, { path: ${d}/b.conf }]
`);

    let agent = await spawnAgent(yaml);
    agents.push(agent);
    assert.deepEqual(leftovers(), [], "the first start did not remove the planted leftover");
    assert.match(agent.output(), /removed leftover.*\.b\.conf\.fleet-tmp-00112233aabb/, "the removal is logged with the name");

    let killedWithLeftovers = 0;
    const delays = [0, 30, 80, 150, 250, 350, 500, 700, 1000];
    for (const [i, delay] of delays.entries()) {
      const before = { a: readFileSync(path.join(d, "a.conf"), "utf8"), b: readFileSync(path.join(d, "b.conf"), "utf8") };
      const next = { a: `a-${i}\n`, b: `b-${i}\n` };
      const files = (["a", "b"] as const).map((k) => ({ path: path.join(d, `${k}.conf`), content: Buffer.from(next[k]), sha256: sha(Buffer.from(next[k])) }));
      const client = createAgentClient(agent.address, { deadlineMs: 20_000 });
      const call = client.pushConfig({ requestId: `k${i}`, service: "app", allowRestart: false, files }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, delay));
      agent.child.kill("SIGKILL");
      await agent.exited();
      await call;
      client.close();
      if (leftovers().length) killedWithLeftovers++;

      agent = await spawnAgent(yaml);
      agents.push(agent);
      assert.deepEqual(leftovers(), [], `after the kill at ${delay} ms the restarted agent left our temp files`);
      for (const k of ["a", "b"] as const) {
        const live = readFileSync(path.join(d, `${k}.conf`), "utf8");
        assert.ok(live === before[k] || live === next[k], `${k}.conf after the kill at ${delay} ms is neither old nor new: ${JSON.stringify(live)}`);
      }
    }
    assert.ok(killedWithLeftovers > 0, "no kill left a staged file behind: the test did not exercise the sweep");

    // Nothing else was touched: the look-alikes are all there, the symlink still points at the secret, which is intact.
    for (const n of decoys) assert.ok(lstatSync(path.join(d, n), { throwIfNoEntry: false }), `${n} was removed`);
    assert.ok(lstatSync(path.join(d, decoys[2]!)).isSymbolicLink());
    assert.equal(readFileSync(secret, "utf8"), "secret\n");
    assert.match(agent.output(), /left alone.*\.b\.conf\.fleet-tmp-0123456789ab.*not a regular file/, "a look-alike symlink is reported and left");

    // The agent still works after all of that.
    const client = createAgentClient(agent.address, { deadlineMs: 20_000 });
    const content = Buffer.from("a-final\n");
    const r = await client.pushConfig({ requestId: "final", service: "app", allowRestart: false, files: [{ path: path.join(d, "a.conf"), content, sha256: sha(content) }] });
    client.close();
    assert.match(r.reason, /^installed /, r.reason);
    assert.deepEqual(leftovers(), []);
  });
});

// Declared config paths the agent could never write, or could mistake for its
// own temp files, are refused when the config is read, naming the field:
// - a NUL byte or a line break (else every file operation on it throws a bare error);
// - a file name too long for the temp name beside it (else every push fails with
//   ENAMETOOLONG, reported as an internal error); the longest allowed name works
//   through a real agent, staged check included;
// - a file name of the form of fleet's temp files (else the start-up sweep, run
//   as root, could remove a declared, live config file).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { fakeHostFacts } from "../../agent/config/fake-host-facts.js";
import { MAX_DECLARED_NAME_BYTES } from "../../agent/config/declared-file-name.js";
import { parseAgentConfig } from "../../agent/config/parse-agent-config.js";
import { formatProblem } from "../../common/errors.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { runAgent } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const scratch = scratchDir("fleet-declared-names-");
let agent: AgentHarness | undefined;
after(async () => {
  await agent?.stop();
  scratch.remove();
});

const problems = (p: string) => {
  const r = parseAgentConfig({ listen: "127.0.0.1:0", insecure: true, services: { app: { reload: { command: ["/bin/true"] }, configs: [{ path: "/etc/ok.conf" }, { path: p }] } } }, fakeHostFacts());
  return r.ok ? [] : r.problems.map(formatProblem);
};

test("a NUL byte or a line break in a declared path is refused, naming the field", () => {
  for (const p of ["/etc/app/a\0b.conf", "/etc/app\0/x.conf", "/etc/app/a\nb.conf", "/etc/app/a\rb.conf"]) {
    const found = problems(p);
    assert.equal(found.length, 1, `${JSON.stringify(p)}: ${found.join("; ")}`);
    assert.match(found[0]!, /services\.app\.configs\.1\.path: must not contain a NUL byte or a line break/);
  }
});

test("a file name of the form of fleet's temp files is refused, naming the field", () => {
  for (const p of ["/etc/app/.app.conf.fleet-tmp-0123456789ab", "/etc/app/.x.fleet-staged-abcdefabcdef"]) {
    const found = problems(p);
    assert.equal(found.length, 1, found.join("; "));
    assert.match(found[0]!, /services\.app\.configs\.1\.path: file name ".*" has the form of fleet's own temp files/);
  }
  // Look-alikes that are not of that exact form are fine.
  assert.deepEqual(problems("/etc/app/.app.conf.fleet-tmp-0123456789abc"), []);
  assert.deepEqual(problems("/etc/app/app.conf.fleet-tmp-0123456789ab"), []);
});

test("a file name with no room for its temp name is refused; the longest allowed one is pushed through a real agent", async () => {
  const d = path.join(scratch.dir, "d");
  mkdirSync(d);
  const tooLong = path.join(d, "n".repeat(MAX_DECLARED_NAME_BYTES + 1));
  const found = problems(tooLong);
  assert.equal(found.length, 1, found.join("; "));
  assert.match(found[0]!, new RegExp(`services\\.app\\.configs\\.1\\.path: file name "n+"\\.\\.\\. is ${MAX_DECLARED_NAME_BYTES + 1} bytes; at most ${MAX_DECLARED_NAME_BYTES} are allowed`));
  // Multi-byte characters count as bytes.
  assert.equal(problems(path.join(d, "é".repeat(Math.floor(MAX_DECLARED_NAME_BYTES / 2) + 1))).length, 1);
  // The same refusal from the daemon, before it starts (exit code 2).
  const yaml = path.join(scratch.dir, "too-long.yaml");
  writeFileSync(yaml, `listen: 127.0.0.1:0\ninsecure: true\nservices:\n  app:\n    reload: { command: [/bin/true] }\n    configs: [{ path: ${tooLong} }]\n`);
  const r = await runAgent(["--config", yaml, "--check-config"]);
  assert.equal(r.code, 2, r.output);
  assert.match(r.output, /services\.app\.configs\.0\.path: file name/);

  const longest = path.join(d, "n".repeat(MAX_DECLARED_NAME_BYTES));
  writeFileSync(longest, "v0\n");
  agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
services:
  app:
    reload: { command: [/bin/true] }
    generation: none
    check: [/bin/sh, -c, 'test -s "$0"', "{path}"]
    configs: [{ path: ${longest} }]
`);
  const body = Buffer.from("v1\n");
  const pushed = await agent.client.pushConfig({ requestId: "p1", service: "app", allowRestart: false, files: [{ path: longest, content: body, sha256: sha(body) }] });
  assert.match(pushed.reason, /^installed/, pushed.reason);
  assert.equal(readFileSync(longest, "utf8"), "v1\n");
  const back = await agent.client.rollbackConfig({ requestId: "r1", service: "app", allowRestart: false, files: [{ path: longest, sha256: pushed.previousSha256 }] });
  assert.match(back.reason, /^installed/, back.reason);
});

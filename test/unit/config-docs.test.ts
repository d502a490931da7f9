// Every config field the parsers accept is documented — in the README's config reference and in
// the daemons' --help — and the README's reference examples are valid configs. The parsers' key
// lists are read from their sources (every `noUnknownKeys(value, KEYS, ...)` call), so a field
// added to a parser without documentation fails here.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fakeHostFacts } from "../../agent/config/fake-host-facts.js";
import { parseAgentConfig } from "../../agent/config/parse-agent-config.js";
import { parseYamlText } from "../../common/yaml-file.js";
import { parseInventory } from "../../controller/inventory/parse-inventory.js";
import { AGENT_BIN, CONTROLLER_BIN } from "../helpers/built-bins.js";
import { REPO_ROOT } from "../helpers/web-service.js";

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), "utf8");
const quoted = (text: string) => [...text.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);

/** Every key any `noUnknownKeys` call of these parser files accepts; constants resolved from `constants`. */
function parserKeys(parsers: string[], constants: string[]): Set<string> {
  const named = new Map<string, string[]>();
  for (const file of [...parsers, ...constants]) {
    for (const m of read(file).matchAll(/const ([A-Z_]+) = \[([^\]]*)\]/g)) named.set(m[1]!, quoted(m[2]!));
  }
  const keys = new Set<string>();
  let calls = 0;
  for (const file of parsers) {
    for (const m of read(file).matchAll(/noUnknownKeys\(\s*[\w.]+,\s*(\[[^\]]*\]|[A-Z_]+)/g)) {
      calls++;
      const list = m[1]!.startsWith("[") ? quoted(m[1]!) : named.get(m[1]!);
      assert.ok(list, `${file}: key list ${m[1]} not found`);
      list.forEach((k) => keys.add(k));
    }
  }
  assert.ok(calls >= 5 && keys.size >= 20, `the key lists were read (${calls} calls, ${keys.size} keys)`);
  return keys;
}

/** The README's example under a heading: the first yaml block after it. */
function readmeBlock(heading: string): string {
  const readme = read("README.md");
  const at = readme.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `README has ${heading}`);
  const m = /```yaml\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, `a yaml block under ${heading}`);
  return m[1]!;
}

const documented = (text: string) => new Set([...text.matchAll(/([A-Za-z_]+):/g)].map((m) => m[1]!));

function assertDocumented(keys: Set<string>, text: string, where: string) {
  const words = documented(text);
  const missing = [...keys].filter((k) => !words.has(k));
  assert.deepEqual(missing, [], `${where} does not document: ${missing.join(", ")}`);
}

test("every agent.yaml field is documented in the README and in fleet-agent --help", () => {
  const keys = parserKeys(["agent/config/parse-agent-config.ts"], ["agent/config/agent-config.ts"]);
  for (const k of ["state_dir", "keep_versions", "check_mode", "limits", "allow", "RollbackConfig", "handshake_timeout"]) assert.ok(keys.has(k), `the parser's lists include ${k}`);
  assertDocumented(keys, readmeBlock("### agent.yaml"), "README's agent.yaml reference");
  assertDocumented(keys, execFileSync(AGENT_BIN, ["--help"], { encoding: "utf8", timeout: 30_000 }), "fleet-agent --help");
});

test("every fleet.yaml field is documented in the README and in fleet-controller --help", () => {
  const keys = parserKeys(
    ["controller/inventory/parse-inventory.ts", "controller/inventory/parse-tls-paths.ts", "controller/observability/observability-config.ts", "controller/webhooks/webhook-config.ts", "controller/replication/replicate-config.ts"],
    ["controller/rollout/rollout-policy.ts"],
  );
  for (const k of ["approve", "accept_unverified", "read_group", "operators", "when_busy", "secret_file", "agent_check", "vars", "template", "replicate", "sync_interval"]) assert.ok(keys.has(k), `the parser's lists include ${k}`);
  // A named host's own fields (parse-hosts.ts checks them without noUnknownKeys).
  for (const k of ["address", "vars", "labels"]) keys.add(k);
  assertDocumented(keys, readmeBlock("### fleet.yaml"), "README's fleet.yaml reference");
  assertDocumented(keys, execFileSync(CONTROLLER_BIN, ["--help"], { encoding: "utf8", timeout: 30_000 }), "fleet-controller --help");
});

test("the README's reference examples are valid configs", () => {
  const agent = parseAgentConfig(
    parseYamlText("README agent.yaml", readmeBlock("### agent.yaml")).data,
    fakeHostFacts({ "/etc/fleet/agent.token": "a-token-of-at-least-16-characters" }, { root: { uid: 0, gid: 0 } }, { root: 0, fleet: 999 }),
  );
  assert.ok(agent.ok, JSON.stringify(!agent.ok && agent.problems));
  const inventory = parseInventory(parseYamlText("README fleet.yaml", readmeBlock("### fleet.yaml")).data);
  assert.ok(inventory.ok, JSON.stringify(!inventory.ok && inventory.problems));
  assert.equal(inventory.value.groups.get("web-tier")!.policy.approve, false);
});

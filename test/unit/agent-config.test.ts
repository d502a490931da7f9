import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { parseYamlText, withLines } from "../../common/yaml-file.js";
import { formatProblem, type ConfigError } from "../../common/errors.js";
import { fakeHostFacts } from "../../agent/config/fake-host-facts.js";
import { parseAgentConfig } from "../../agent/config/parse-agent-config.js";

const host = fakeHostFacts({ "/etc/fleet/agent.token": "0123456789abcdef0123\n" });
const parse = (yaml: string) => parseAgentConfig(parseYamlText("agent.yaml", yaml).data, host);

test("a full config compiles with every default filled in", () => {
  const r = parse(`
listen: 0.0.0.0:7601
auth: { token_file: /etc/fleet/agent.token }
services:
  nginx:
    reload: { systemd: nginx }
    check: [/usr/sbin/nginx, -t, -q, -c, "{path}"]
    reject_markers: { log: /var/log/nginx/error.log, pattern: "\\\\[emerg\\\\]" }
    health:
      - { http: "http://127.0.0.1/healthz", status: 200 }
      - { tcp: "127.0.0.1:443" }
    configs:
      - { path: /etc/nginx/nginx.conf, mode: "0640", owner: root }
  haproxy:
    reload: { signal: USR2, process: "haproxy -W" }
  app:
    reload: { supervisor: app }
`);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
  const nginx = r.value.services.get("nginx")!;
  assert.deepEqual(nginx.reload, { method: "systemd", unit: "nginx.service" });
  assert.equal(nginx.configs[0]!.mode, 0o640);
  assert.equal(nginx.timeouts.generationMs, 5000);
  assert.equal(nginx.generation.kind, "auto");
  assert.equal(nginx.allowRestart, false);
  assert.deepEqual(r.value.services.get("haproxy")!.reload, { method: "signal", signal: "USR2", target: { kind: "process", match: "haproxy -W" } });
  assert.deepEqual(r.value.services.get("app")!.reload, { method: "supervisor", program: "app", signal: "HUP", config: undefined });
  assert.equal(r.value.auth.mode, "token");
  assert.deepEqual(r.value.auth.mode === "token" && r.value.auth.tokenDigest, createHash("sha256").update("0123456789abcdef0123").digest(), "the token's digest, read at compile time");
  assert.deepEqual([nginx.configs[0]!.uid, nginx.configs[0]!.gid], [0, 0]);
});

test("a config with three mistakes reports all three, with field paths and lines", () => {
  const text = `listen: 0.0.0.0:7601
insecure: true
services:
  nginx:
    reload: { signal: KILL, pidfile: /run/nginx.pid }
    health:
      - { http: "ftp://127.0.0.1/" }
    check: nginx -t
`;
  const source = parseYamlText("agent.yaml", text);
  const r = parseAgentConfig(source.data, host);
  assert.equal(r.ok, false);
  if (r.ok) return;
  const lines = withLines(source, r.problems).problems.map(formatProblem);
  assert.equal(lines.length, 3, lines.join("\n"));
  assert.match(lines[0]!, /^line 5: services\.nginx\.reload\.signal: must be one of HUP, USR1, USR2, WINCH, got string "KILL"/);
  assert.match(lines[1]!, /^line 7: services\.nginx\.health\.0\.http: must be an http:\/\/ or https:\/\/ URL/);
  assert.match(lines[2]!, /^line 8: services\.nginx\.check: must be a non-empty list of strings \(an argv; no shell\)/);
});

test("no authentication and no insecure: true is refused with how to fix it", () => {
  const r = parse(`services: { a: { reload: { systemd: a } } }`);
  assert.equal(r.ok, false);
  assert.match(JSON.stringify(!r.ok && r.problems), /no authentication configured: set tls.*auth: \{token_file.*insecure: true/);
});

test("relative argv programs, unknown fields and conflicting methods are refused", () => {
  const r = parse(`
insecure: true
services:
  a:
    reload: { command: [nginx, -s, reload] }
  b:
    reload: { systemd: b, signal: HUP }
  c:
    reload: { docker: web, signal: TERM }
    restart: true
  d:
    reload: { signal: HUP }
`);
  assert.equal(r.ok, false);
  const msgs = !r.ok ? r.problems.map(formatProblem) : [];
  assert.ok(msgs.some((m) => m.startsWith("services.a.reload.command.0: must be an absolute program path")), msgs.join("\n"));
  assert.ok(msgs.some((m) => m.startsWith("services.b.reload.signal: unknown field")), msgs.join("\n"));
  assert.ok(msgs.some((m) => m.startsWith("services.c.reload.signal: must be one of HUP")), msgs.join("\n"));
  assert.ok(msgs.some((m) => m.startsWith("services.c.restart: unknown field")), msgs.join("\n"));
  assert.ok(msgs.some((m) => m.startsWith("services.d.reload: a signal needs its target")), msgs.join("\n"));
});

test("YAML syntax errors are reported with their line", () => {
  assert.throws(() => parseYamlText("agent.yaml", "services:\n  a: [\n"), /agent\.yaml: 1 problem:\n  line \d+: \(top level\): YAML syntax/);
});

test("an alias bomb is a listed YAML problem, not a crash", () => {
  const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join("\n");
  assert.throws(() => parseYamlText("agent.yaml", bomb), (err: unknown) => {
    const lines = (err as ConfigError).problems.map(formatProblem).join("\n");
    assert.match(lines, /YAML: .*alias/i);
    return true;
  });
});

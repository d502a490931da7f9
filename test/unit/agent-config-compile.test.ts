// Compiling agent.yaml resolves everything it names; each failure is a
// problem with its field. What SIGHUP cannot apply is named.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatProblem } from "../../common/errors.js";
import { parseYamlText } from "../../common/yaml-file.js";
import type { AgentConfig } from "../../agent/config/agent-config.js";
import { fakeHostFacts } from "../../agent/config/fake-host-facts.js";
import { parseAgentConfig } from "../../agent/config/parse-agent-config.js";
import { restartNeeded } from "../../agent/config/restart-needed.js";

const files = {
  "/etc/fleet/good.token": "0123456789abcdef0123\n",
  "/etc/fleet/short.token": "short\n",
  "/etc/fleet/dir.token": "<dir>",
  "/etc/fleet/cert.pem": "CERT",
  "/etc/fleet/key.pem": "KEY",
  "/etc/fleet/ca.pem": "CA",
  "/etc/fleet/other.pem": "OTHER",
};
const host = fakeHostFacts(files, { root: { uid: 0, gid: 0 }, www: { uid: 33, gid: 33 } }, { root: 0, www: 33, fleet: 990 });
const SERVICE = `services:\n  a:\n    reload: { systemd: a }\n`;
const compile = (yaml: string) => parseAgentConfig(parseYamlText("agent.yaml", yaml).data, host);
const problems = (yaml: string) => {
  const r = compile(yaml);
  assert.equal(r.ok, false, "expected problems");
  return r.ok ? [] : r.problems.map(formatProblem);
};
const ok = (yaml: string): AgentConfig => {
  const r = compile(yaml);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
  return r.value;
};

test("a token file that is missing, too short or a directory is a problem at auth.token_file", () => {
  assert.match(problems(`auth: { token_file: /etc/fleet/none.token }\n${SERVICE}`).join("\n"), /^auth\.token_file: cannot be read: \/etc\/fleet\/none\.token does not exist/);
  assert.match(problems(`auth: { token_file: /etc/fleet/short.token }\n${SERVICE}`).join("\n"), /^auth\.token_file: \/etc\/fleet\/short\.token holds 5 characters; use at least 16/);
  assert.match(problems(`auth: { token_file: /etc/fleet/dir.token }\n${SERVICE}`).join("\n"), /^auth\.token_file: \/etc\/fleet\/dir\.token is a directory/);
  const c = ok(`auth: { token_file: /etc/fleet/good.token }\n${SERVICE}`);
  assert.equal(c.auth.mode === "token" && c.auth.tokenDigest.length, 32);
});

test("TLS files are read at compile time: each missing one is named, a mismatched pair is a tls problem", () => {
  const missing = problems(`tls: { cert: /etc/fleet/nocert.pem, key: /etc/fleet/nokey.pem, ca: /etc/fleet/ca.pem }\n${SERVICE}`);
  assert.deepEqual(missing.map((m) => m.split(":")[0]), ["tls.cert", "tls.key"]);
  assert.match(problems(`tls: { cert: /etc/fleet/other.pem, key: /etc/fleet/key.pem, ca: /etc/fleet/ca.pem }\n${SERVICE}`)[0]!, /^tls: tls\.cert and tls\.key cannot be used together/);
  const c = ok(`tls: { cert: /etc/fleet/cert.pem, key: /etc/fleet/key.pem, ca: /etc/fleet/ca.pem }\n${SERVICE}`);
  assert.equal(c.auth.mode === "tls" && c.auth.material.cert.toString(), "CERT");
});

test("owners resolve to uid and gid (user, or user:group); unknown ones are problems at their field", () => {
  const c = ok(`insecure: true\nservices:\n  a:\n    reload: { systemd: a }\n    configs:\n      - { path: /etc/a.conf, owner: www }\n      - { path: /etc/b.conf, owner: "root:fleet" }\n`);
  assert.deepEqual(c.services.get("a")!.configs.map((f) => [f.uid, f.gid]), [[33, 33], [0, 990]]);
  const p = problems(`insecure: true\nservices:\n  a:\n    reload: { systemd: a }\n    configs:\n      - { path: /etc/a.conf, owner: nobody2 }\n      - { path: /etc/b.conf, owner: "root:nogroup2" }\n      - { path: /etc/c.conf, owner: "a:b:c" }\n`);
  assert.match(p[0]!, /^services\.a\.configs\.0\.owner: user "nobody2" does not exist on this host/);
  assert.match(p[1]!, /^services\.a\.configs\.1\.owner: group "nogroup2" does not exist on this host/);
  assert.match(p[2]!, /^services\.a\.configs\.2\.owner: must be "user" or "user:group"/);
});

test("socket_mode and socket_group are explicit; a bad one is named", () => {
  const c = ok(`listen: unix:/run/fleet/agent.sock\nsocket_mode: "0660"\nsocket_group: fleet\ninsecure: true\n${SERVICE}`);
  assert.deepEqual(c.socket, { mode: 0o660, group: "fleet", gid: 990 });
  assert.equal(ok(`insecure: true\n${SERVICE}`).socket.mode, 0o600);
  const p = problems(`socket_mode: rw\nsocket_group: nogroup2\ninsecure: true\n${SERVICE}`);
  assert.match(p.join("\n"), /socket_mode: must be an octal mode string/);
  assert.match(p.join("\n"), /socket_group: group "nogroup2" does not exist/);
});

test("SIGHUP cannot apply a new listen address, socket mode, transport or message size; tokens, certificates and services it can", () => {
  const base = ok(`listen: 127.0.0.1:7601\nauth: { token_file: /etc/fleet/good.token }\n${SERVICE}`);
  assert.deepEqual(restartNeeded(base, ok(`listen: 127.0.0.1:7601\ninsecure: true\nlimits: { mutations_per_second: 3 }\nservices:\n  b:\n    reload: { systemd: b }\n`)), []);
  const toTls = restartNeeded(base, ok(`listen: 127.0.0.1:7601\ntls: { cert: /etc/fleet/cert.pem, key: /etc/fleet/key.pem, ca: /etc/fleet/ca.pem }\n${SERVICE}`));
  assert.deepEqual(toTls, ["the transport changed from plaintext (token or insecure) to tls"]);
  const moved = restartNeeded(base, ok(`listen: 127.0.0.1:7602\nauth: { token_file: /etc/fleet/good.token }\nlimits: { max_message_bytes: 2048 }\n${SERVICE}`));
  assert.deepEqual(moved, ["listen changed from 127.0.0.1:7601 to 127.0.0.1:7602", "limits.max_message_bytes changed"]);
});

test("metrics: plain HTTP on loopback only; tls: true serves HTTPS anywhere with the agent's mutual TLS, refused without it", () => {
  const TLS = "tls: { cert: /etc/fleet/cert.pem, key: /etc/fleet/key.pem, ca: /etc/fleet/ca.pem, allow: { Metrics: [monitoring] } }";
  assert.deepEqual(ok(`insecure: true\nmetrics: { listen: 127.0.0.1:9601 }\n${SERVICE}`).metrics, { listen: "127.0.0.1:9601", tls: false });
  const https = ok(`${TLS}\nmetrics: { listen: 0.0.0.0:9601, tls: true }\n${SERVICE}`);
  assert.deepEqual(https.metrics, { listen: "0.0.0.0:9601", tls: true });
  assert.deepEqual(https.auth.mode === "tls" && https.auth.allow, { Metrics: ["monitoring"] });
  assert.deepEqual(problems(`auth: { token_file: /etc/fleet/good.token }\nmetrics: { listen: 127.0.0.1:9601, tls: true }\n${SERVICE}`), [
    "metrics.tls: needs the agent's mutual TLS (tls: {cert, key, ca}): metrics over HTTPS use its certificate, key and CA; with auth.token_file or insecure: true, keep metrics on loopback without tls",
  ]);
  const offLoopback = problems(`${TLS}\nmetrics: { listen: 0.0.0.0:9601 }\n${SERVICE}`);
  assert.equal(offLoopback.length, 1);
  assert.match(offLoopback[0]!, /^metrics\.listen: 0\.0\.0\.0:9601 is not a loopback address: without TLS .* configure tls \(metrics\.tls: true, with the agent's tls: \{cert, key, ca\}\)/);
  assert.match(problems(`insecure: true\nmetrics: { listen: 127.0.0.1:9601, tls: yes }\n${SERVICE}`).join("\n"), /metrics\.tls: must be true or false/);
  // Switching HTTPS on or off needs a restart; a new allow list does not.
  assert.deepEqual(restartNeeded(https, ok(`${TLS}\nmetrics: { listen: 0.0.0.0:9601, tls: true }\n${SERVICE}`.replace("monitoring", "other"))), []);
  assert.deepEqual(restartNeeded(https, ok(`${TLS}\nmetrics: { listen: 0.0.0.0:9601 }\n${SERVICE}`.replace("0.0.0.0:9601", "127.0.0.1:9601"))), [
    "metrics.listen changed from 0.0.0.0:9601 to 127.0.0.1:9601",
    "metrics.tls changed from true to false",
  ]);
});

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { formatProblem } from "../../common/errors.js";
import { parseYamlText, withLines } from "../../common/yaml-file.js";
import { parseInventory } from "../../controller/inventory/parse-inventory.js";
import { readInventory } from "../../controller/inventory/read-inventory.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { CONTROLLER_BIN } from "../helpers/built-bins.js";

const MALFORMED = `controller: { listen: "unix:/tmp/c.sock", db: relative.db }
groups:
  web-tier:
    service: nginx
    hosts: [web1:7601, "web 2", web1:7601]
    canary: [web9:7601]
    policy: { canary: lots, batch: "0", max_failures: 1, bake: soon }
  db:
    hosts: []
`;

test("a malformed inventory reports every mistake with file, line and field", () => {
  const source = parseYamlText("fleet.yaml", MALFORMED);
  const r = parseInventory(source.data);
  assert.equal(r.ok, false);
  const err = withLines(source, r.ok ? [] : r.problems);
  const lines = err.problems.map(formatProblem);
  assert.deepEqual(lines, [
    "line 1: controller.db: must be an absolute path, got \"relative.db\"",
    "line 5: groups.web-tier.hosts.1: must be HOST:PORT or unix:/PATH, got \"web 2\"",
    "line 5: groups.web-tier.hosts.2: web1:7601 is listed twice",
    "line 6: groups.web-tier.canary.0: web9:7601 is not one of this group's hosts",
    "line 7: groups.web-tier.policy.canary: must be N or N% (0 = no canary phase), got \"lots\"",
    "line 7: groups.web-tier.policy.batch: must be N, N% or a list like 1,5,20% (each entry at least 1), got \"0\"",
    "line 7: groups.web-tier.policy.bake: must be a duration like 500ms, 30s, 2m or 1h30m, got \"soon\"",
    "line 8: groups.db.service: must be a non-empty string, got nothing",
    "line 9: groups.db.hosts: must be a non-empty list of agent addresses (HOST:PORT or unix:/PATH), or a mapping of host names to an address or to { address, vars, labels }",
  ]);
  assert.match(err.message, /^fleet\.yaml: 9 problems:/);
});

test("a good inventory fills in defaults", () => {
  const r = parseInventory(parseYamlText("fleet.yaml", `groups:\n  web:\n    service: nginx\n    hosts: [a:7601, b:7601]\n    policy: { canary: "10%", batch: "1,5,20%", bake: 30s }\n`).data);
  assert.ok(r.ok);
  assert.equal(r.value.controller.listen, "unix:/run/fleet/controller.sock");
  assert.equal(r.value.controller.db, "/var/lib/fleet/history.db");
  const g = r.value.groups.get("web")!;
  assert.deepEqual(g.policy.canary, { kind: "percent", pct: 10 });
  assert.equal(g.policy.batch.length, 3);
  assert.equal(g.policy.bakeMs, 30_000);
  assert.equal(g.policy.maxFailures.kind, "count");
});

test("fleet-controller refuses a malformed inventory with exit 2 and every problem", async () => {
  const scratch = scratchDir();
  const file = path.join(scratch.dir, "fleet.yaml");
  writeFileSync(file, MALFORMED);
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const c = spawn(CONTROLLER_BIN, ["--config", file], { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
    let output = "";
    c.stdout.on("data", (d) => (output += d));
    c.stderr.on("data", (d) => (output += d));
    c.on("exit", (code) => resolve({ code, output }));
  });
  scratch.remove();
  assert.equal(code, 2);
  assert.match(output, /fleet\.yaml: 9 problems:/);
  assert.match(output, /line 9: groups\.db\.hosts/);
});

test("controller transports: sockets, roles and TLS fields are checked, each problem named", () => {
  const parse = (controller: string, extra = "") => parseInventory(parseYamlText("fleet.yaml", `controller: ${controller}\n${extra}groups:\n  web:\n    service: nginx\n    hosts: [a:7601]\n`).data);
  const problems = (r: ReturnType<typeof parse>) => (r.ok ? [] : r.problems.map(formatProblem));
  assert.deepEqual(problems(parse(`{ listen: "127.0.0.1:7600" }`)), [
    "controller.listen: a TCP address (loopback included) needs TLS: set controller.tls: {cert, key, ca} (or the top-level tls); CLIs then present operator certificates",
    "controller.operators: a TCP listen needs operator certificate names: operators: { read: [NAME], operate: [NAME] }",
  ]);
  assert.deepEqual(problems(parse(`{ read_socket: "unix:/run/r.sock", socket_group: "bad group", operators: { read: [ok], operate: ["no good"] } }`)), [
    "controller.socket_group: must be a unix group name, got \"bad group\"",
    "controller.read_group: is required with read_socket: the group whose members may read (status, history, show, schedules)",
    "controller.operators.operate.0: must be a certificate name, got \"no good\"",
    "controller.operators: only applies to a TCP listen or to metrics.tls / web.tls (on a unix socket, roles come from socket_group and read_socket)",
  ]);
  const tcp = parse(`{ listen: "10.0.0.2:7600", operators: { read: [mon], operate: [alice] } }`, "tls: { cert: /c.crt, key: /c.key, ca: /ca.crt }\n");
  assert.ok(tcp.ok);
  assert.deepEqual(tcp.value.controller.tls, { cert: "/c.crt", key: "/c.key", ca: "/ca.crt" }, "the top-level tls serves the TCP listener too");
  assert.deepEqual(tcp.value.controller.operators, { read: ["mon"], operate: ["alice"] });
  const sockets = parse(`{ socket_group: fleet, read_socket: "unix:/run/r.sock", read_group: readers }`);
  assert.ok(sockets.ok);
  assert.deepEqual([sockets.value.controller.socketGroup, sockets.value.controller.readSocket, sockets.value.controller.readGroup], ["fleet", "unix:/run/r.sock", "readers"]);
});

test("credential files are read with the inventory: missing, empty or mismatched ones are config problems", async () => {
  const scratch = scratchDir();
  try {
    const inv = (agents: string) => {
      const file = path.join(scratch.dir, "fleet.yaml");
      writeFileSync(file, `agents: ${agents}\ngroups:\n  web:\n    service: nginx\n    hosts: [a:7601]\n`);
      return readInventory(file);
    };
    await assert.rejects(inv(`{ token_file: ${scratch.dir}/none }`), /line 1: agents\.token_file: cannot read .*none: ENOENT/);
    writeFileSync(path.join(scratch.dir, "empty"), "\n");
    await assert.rejects(inv(`{ token_file: ${scratch.dir}/empty }`), /agents\.token_file: .*empty is empty/);
    writeFileSync(path.join(scratch.dir, "tok"), "0123456789abcdef0123\n");
    const ok = await inv(`{ token_file: ${scratch.dir}/tok }`);
    assert.equal(ok.credentials.agents.mode, "token");
    writeFileSync(path.join(scratch.dir, "notpem"), "hello");
    const file = path.join(scratch.dir, "fleet.yaml");
    writeFileSync(file, `tls: { cert: ${scratch.dir}/notpem, key: ${scratch.dir}/notpem, ca: ${scratch.dir}/missing.crt }\ngroups:\n  web:\n    service: nginx\n    hosts: [a:7601]\n`);
    await assert.rejects(readInventory(file), (err: Error) => {
      assert.match(err.message, /tls\.ca: cannot read .*missing\.crt: ENOENT/);
      return true;
    });
  } finally {
    scratch.remove();
  }
});

test("metrics and web: plain HTTP on loopback, or tls (own files, or true for the controller's) with operator names", () => {
  const parse = (yaml: string) => parseInventory(parseYamlText("fleet.yaml", `${yaml}groups:\n  web:\n    service: nginx\n    hosts: [a:7601]\n`).data);
  const problems = (r: ReturnType<typeof parse>) => (r.ok ? [] : r.problems.map(formatProblem));
  const OPS = "controller: { operators: { read: [mon] } }\n";

  const off = problems(parse("metrics: { listen: 0.0.0.0:9600 }\nweb: { listen: \"[::]:9680\" }\n"));
  assert.equal(off.length, 2);
  assert.match(off[0]!, /^metrics\.listen: 0\.0\.0\.0:9600 is not a loopback address: without TLS this listener serves plain HTTP without authentication, so it binds only to 127\.0\.0\.1, \[::1\] or localhost; to serve it elsewhere, configure tls \(metrics\.tls: \{cert, key, ca\}, or true for the controller's own\)/);
  assert.match(off[1]!, /^web\.listen: \[::\]:9680 is not a loopback address: .*configure tls \(web\.tls:/);

  const own = parse(`${OPS}metrics: { listen: 0.0.0.0:9600, tls: { cert: /m.crt, key: /m.key, ca: /ca.crt } }\n`);
  assert.ok(own.ok, JSON.stringify(problems(own)));
  assert.deepEqual(own.value.metrics, { listen: "0.0.0.0:9600", agentCheckMs: 60_000, tls: { cert: "/m.crt", key: "/m.key", ca: "/ca.crt" } });
  assert.deepEqual(own.value.controller.operators, { read: ["mon"], operate: [] }, "operators on a unix listen: they name who may read metrics and web");

  const shared = parse(`${OPS}tls: { cert: /t.crt, key: /t.key, ca: /ca.crt }\nweb: { listen: 10.0.0.2:9680, tls: true }\n`);
  assert.ok(shared.ok, JSON.stringify(problems(shared)));
  assert.deepEqual(shared.value.web, { listen: "10.0.0.2:9680", tls: { cert: "/t.crt", key: "/t.key", ca: "/ca.crt" } }, "true: the top-level tls when controller.tls is absent");
  const controllerTls = parse(`controller: { operators: { read: [mon] }, tls: { cert: /c.crt, key: /c.key, ca: /ca.crt } }\ntls: { cert: /t.crt, key: /t.key, ca: /ca.crt }\nweb: { listen: 10.0.0.2:9680, tls: true }\n`);
  assert.ok(controllerTls.ok);
  assert.equal(controllerTls.value.web!.tls!.cert, "/c.crt", "true: controller.tls first");

  assert.deepEqual(problems(parse(`${OPS}web: { listen: 10.0.0.2:9680, tls: true }\n`)), [
    "web.tls: true uses the controller's TLS files (controller.tls, else the top-level tls), and neither is set: give tls: {cert, key, ca}",
  ]);
  assert.deepEqual(problems(parse(`${OPS}metrics: { listen: 127.0.0.1:9600, tls: yes }\n`)), ["metrics.tls: must be {cert, key, ca}, true (the controller's TLS files) or false, got \"yes\""]);
  assert.deepEqual(problems(parse("metrics: { listen: 127.0.0.1:9600, tls: { cert: /m.crt, key: /m.key, ca: /ca.crt } }\n")), [
    "controller.operators: metrics.tls admit client certificates whose names have the read role: operators: { read: [NAME] } (operate includes read)",
  ]);
  const plain = parse("metrics: { listen: 127.0.0.1:9600, tls: false }\n");
  assert.ok(plain.ok);
  assert.equal(plain.value.metrics!.tls, undefined);
});

test("metrics.tls files are read with the inventory: a missing one is a problem at its field; files shared with tls are read once", async () => {
  const scratch = scratchDir();
  try {
    const file = path.join(scratch.dir, "fleet.yaml");
    const groups = "groups:\n  web:\n    service: nginx\n    hosts: [a:7601]\n";
    writeFileSync(file, `controller: { operators: { read: [mon] } }\nmetrics: { listen: 127.0.0.1:0, tls: { cert: ${scratch.dir}/none.crt, key: ${scratch.dir}/none.key, ca: ${scratch.dir}/ca.crt } }\n${groups}`);
    await assert.rejects(readInventory(file), (err: Error) => {
      assert.match(err.message, /line 2: metrics\.tls\.cert: cannot read .*none\.crt: ENOENT/);
      assert.match(err.message, /metrics\.tls\.ca: cannot read .*ca\.crt: ENOENT/);
      return true;
    });
    writeFileSync(file, `controller: { operators: { read: [mon] } }\ntls: { cert: ${scratch.dir}/none.crt, key: ${scratch.dir}/none.key, ca: ${scratch.dir}/ca.crt }\nweb: { listen: 127.0.0.1:0, tls: true }\n${groups}`);
    await assert.rejects(readInventory(file), (err: Error) => {
      assert.match(err.message, /tls\.cert: cannot read .*none\.crt: ENOENT/);
      assert.doesNotMatch(err.message, /web\.tls/, "one problem per file, at the field that names it");
      return true;
    });
  } finally {
    scratch.remove();
  }
});

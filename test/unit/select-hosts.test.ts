// --hosts and --select pick exactly the expected hosts, and say why the others were left out.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { InventoryHost } from "../../controller/inventory/inventory.js";
import { globMatch, parseSelector, selectHosts } from "../../controller/inventory/select-hosts.js";

const host = (name: string, address: string, labels: Record<string, string>): InventoryHost => ({ name, address, vars: {}, labels });
const HOSTS = [
  host("web1", "10.0.0.11:7601", { zone: "a", role: "app" }),
  host("web2", "10.0.0.12:7601", { zone: "a", role: "edge" }),
  host("web3", "10.0.0.13:7601", { zone: "b", role: "app" }),
  host("db1", "10.0.1.1:7601", { zone: "a" }),
  host("10.0.2.1:7601", "10.0.2.1:7601", {}),
];

// [what, --hosts, --select, selected names]
const TABLE: [string, string[], string, string[]][] = [
  ["everything", [], "", ["web1", "web2", "web3", "db1", "10.0.2.1:7601"]],
  ["one name", ["web2"], "", ["web2"]],
  ["a name glob", ["web*"], "", ["web1", "web2", "web3"]],
  ["a ? glob", ["web?"], "", ["web1", "web2", "web3"]],
  ["names and addresses mixed", ["db1", "10.0.0.13:7601"], "", ["web3", "db1"]],
  ["an address glob", ["10.0.0.*"], "", ["web1", "web2", "web3"]],
  ["a list entry by its address", ["10.0.2.1:7601"], "", ["10.0.2.1:7601"]],
  ["one label", [], "zone=a", ["web1", "web2", "db1"]],
  ["two labels (AND)", [], "zone=a,role=app", ["web1"]],
  ["a negation: hosts without the label do not match", [], "role!=edge", ["web1", "web3"]],
  ["equality and negation", [], "zone=a,role!=edge", ["web1"]],
  ["an unknown label key matches nothing", [], "rack=r1", []],
  ["globs and labels together", ["web*"], "zone=a", ["web1", "web2"]],
  ["spaces around terms", [], " zone = b ", ["web3"]],
  ["no match", ["nosuch*"], "", []],
];

test("selection table: --hosts names/globs/addresses and --select labels", () => {
  for (const [what, patterns, select, expected] of TABLE) {
    const parsed = parseSelector(select);
    assert.ok(parsed.ok, what);
    const s = selectHosts(HOSTS, patterns, parsed.terms);
    assert.deepEqual(s.selected.map((h) => h.name), expected, what);
    assert.equal(s.selected.length + s.excluded.length, HOSTS.length, `${what}: every host is either selected or excluded with a reason`);
  }
});

test("every excluded host says why", () => {
  const parsed = parseSelector("zone=a,role!=edge");
  assert.ok(parsed.ok);
  const s = selectHosts(HOSTS, ["web*", "db1"], parsed.terms);
  assert.deepEqual(
    s.excluded.map((x) => `${x.host.name}: ${x.why}`),
    ["web2: label role is edge (role!=edge)", "web3: label zone is b, not a", "db1: has no label role (role!=edge needs it)", "10.0.2.1:7601: not matched by --hosts web*,db1"],
  );
});

test("a malformed selector names the term", () => {
  for (const bad of ["zone", "zone==a", "zone=a b", "=a", "zone=a,role~x"]) {
    const r = parseSelector(bad);
    assert.equal(r.ok, false, bad);
    if (!r.ok) assert.match(r.problem, /^--select: ".*" is not KEY=VALUE or KEY!=VALUE/);
  }
});

test("globMatch is linear: a pattern of many stars cannot freeze the controller", () => {
  const t0 = performance.now();
  assert.equal(globMatch("*".repeat(40) + "x", "web1.example.net:7601".repeat(3)), false);
  assert.equal(globMatch("w*b?.*:76*1", "web1.example.net:7601"), true);
  assert.equal(globMatch("*", ""), true);
  assert.equal(globMatch("a*b*c", "aXXbYYc"), true);
  assert.equal(globMatch("a*b*c", "aXXbYY"), false);
  assert.ok(performance.now() - t0 < 1000);
});

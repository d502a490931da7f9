// Templates rendered per host: the variables each host sees, and strictness on every host.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { InventoryHost } from "../../controller/inventory/inventory.js";
import { renderConfigSet, type SetFile } from "../../controller/rollout/render-config-set.js";

const hosts: InventoryHost[] = [
  { name: "web1", address: "10.0.0.11:7601", vars: { weight: 3 }, labels: { zone: "a" } },
  { name: "web2", address: "10.0.0.12:7601", vars: {}, labels: { zone: "b" } },
  { name: "10.0.0.13:7601", address: "10.0.0.13:7601", vars: { extra: "x" }, labels: {} },
];
const group = { name: "web", service: "nginx", vars: { weight: 1, upstreams: ["u1", "u2"] } };
const file = (path: string, text: string, template = true): SetFile => ({ path, content: Buffer.from(text), template });

test("each host renders with its name, its vars over the group's, its labels; plain files pass through", () => {
  const r = renderConfigSet(
    [file("/etc/w.conf", "{{ host.name }} {{ host.address }} {{ group.name }}/{{ group.service }} w={{ vars.weight }} {{ vars.upstreams | join: ',' }}\n"), file("/etc/plain", "{{ not.rendered }}", false)],
    hosts.slice(0, 2),
    group,
  );
  assert.ok(r.ok);
  assert.equal(r.perHost.get("10.0.0.11:7601")![0]!.content.toString(), "web1 10.0.0.11:7601 web/nginx w=3 u1,u2\n");
  assert.equal(r.perHost.get("10.0.0.12:7601")![0]!.content.toString(), "web2 10.0.0.12:7601 web/nginx w=1 u1,u2\n");
  assert.equal(r.perHost.get("10.0.0.12:7601")![1]!.content.toString(), "{{ not.rendered }}");
  const zones = renderConfigSet([file("/z", "{% if labels.zone == 'a' %}A{% else %}other{% endif %}")], hosts.slice(0, 2), group);
  assert.ok(zones.ok);
  assert.deepEqual([...zones.perHost.values()].map((f) => f[0]!.content.toString()), ["A", "other"]);
});

test("an undefined variable is reported for every host where it is undefined, naming host, file and variable", () => {
  const r = renderConfigSet([file("/etc/a.conf", "{{ vars.extra }} {{ labels.zone }}"), file("/etc/b.conf", "{{ vars.weight }}")], hosts, group);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.problems, [
    "host web1 (10.0.0.11:7601), template /etc/a.conf: undefined variable: vars.extra, line:1, col:4",
    "host web2 (10.0.0.12:7601), template /etc/a.conf: undefined variable: vars.extra, line:1, col:4",
    "host 10.0.0.13:7601, template /etc/a.conf: undefined variable: labels.zone, line:1, col:21",
  ]);
});

test("undefined filters, includes, runaway loops and binary templates are refused", () => {
  const problems = (text: string | Buffer) => {
    const r = renderConfigSet([{ path: "/t", content: Buffer.isBuffer(text) ? text : Buffer.from(text), template: true }], hosts.slice(0, 1), group);
    return r.ok ? [] : r.problems;
  };
  assert.match(problems("{{ vars.weight | shout }}").join("\n"), /template \/t: undefined filter: shout/);
  assert.match(problems("{% include '/etc/shadow' %}").join("\n"), /host web1 .*Failed to lookup.*include, render and layout are not available/);
  assert.match(problems("{% render 'x' %}").join("\n"), /not available/);
  assert.match(problems("{% for i in (1..1000000000) %}x{% endfor %}").join("\n"), /(render|memory alloc) limit exceeded/);
  assert.match(problems(Buffer.from([0xff, 0xfe, 0x00])).join("\n"), /template \/t: is not UTF-8 text/);
  assert.match(problems("{{ vars.constructor }}").join("\n"), /undefined variable: vars\.constructor/, "no prototype properties");
});

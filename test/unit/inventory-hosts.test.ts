// Inventory hosts with names, variables and labels, next to the plain address list.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatProblem } from "../../common/errors.js";
import { parseYamlText, withLines } from "../../common/yaml-file.js";
import { parseInventory } from "../../controller/inventory/parse-inventory.js";

const parse = (yaml: string) => {
  const source = parseYamlText("fleet.yaml", yaml);
  const r = parseInventory(source.data);
  return { r, problems: r.ok ? [] : withLines(source, r.problems).problems.map(formatProblem) };
};

test("named hosts: address, vars and labels; group vars; canary by name; the list form still works", () => {
  const { r, problems } = parse(`groups:
  web:
    service: nginx
    vars: { worker_connections: 1024, weight: 1 }
    hosts:
      web1: { address: 10.0.0.11:7601, vars: { weight: 3 }, labels: { zone: a, role: edge } }
      web2: 10.0.0.12:7601
      web3: { address: "unix:/run/fleet/agent.sock", labels: { zone: b, tier: 2 } }
    canary: [web2]
  plain:
    service: nginx
    hosts: [a:7601, b:7601]
    canary: [b:7601]
`);
  assert.deepEqual(problems, []);
  assert.ok(r.ok);
  const web = r.value.groups.get("web")!;
  assert.deepEqual(web.hosts, ["10.0.0.11:7601", "10.0.0.12:7601", "unix:/run/fleet/agent.sock"]);
  assert.deepEqual(web.members.map((h) => h.name), ["web1", "web2", "web3"]);
  assert.deepEqual(web.members[0], { name: "web1", address: "10.0.0.11:7601", vars: { weight: 3 }, labels: { zone: "a", role: "edge" } });
  assert.deepEqual(web.members[2]!.labels, { zone: "b", tier: "2" });
  assert.deepEqual(web.vars, { worker_connections: 1024, weight: 1 });
  assert.deepEqual(web.canary, ["10.0.0.12:7601"], "a canary named by host name is its address");
  const plain = r.value.groups.get("plain")!;
  assert.deepEqual(plain.members.map((h) => [h.name, h.address]), [["a:7601", "a:7601"], ["b:7601", "b:7601"]], "a list entry's name is its address");
  assert.deepEqual(plain.canary, ["b:7601"]);
});

test("every host problem at once, with its line and field", () => {
  const { r, problems } = parse(`groups:
  web:
    service: nginx
    vars: { "bad-name": 1, ok: null }
    hosts:
      web1: { address: 10.0.0.11:7601, labels: { zone: "a,b", "9x": y }, extra: 1 }
      web2: { address: 10.0.0.11:7601 }
      "web 3": 10.0.0.13:7601
      web4: { vars: [1] }
      web5: nope
    canary: [web9, web1, 10.0.0.11:7601]
`);
  assert.equal(r.ok, false);
  assert.deepEqual(problems, [
    'line 4: groups.web.vars.bad-name: variable name must be a letter or \'_\' then letters, digits or \'_\' (usable as vars.NAME in a template)',
    "line 4: groups.web.vars.ok: has no value (null); give it one, or remove it",
    "line 6: groups.web.hosts.web1.extra: unknown field; allowed: address, vars, labels",
    "line 6: groups.web.hosts.web1.labels.zone: label value must be up to 63 letters, digits, '_', '.', '/' or '-' (no ',', '=', '!' or spaces), got string \"a,b\"",
    "line 6: groups.web.hosts.web1.labels.9x: label key must be a letter or '_' then up to 62 letters, digits, '_', '.' or '-'",
    "line 7: groups.web.hosts.web2.address: 10.0.0.11:7601 is also the address of host web1",
    "line 8: groups.web.hosts.web 3: host name must be 1-128 letters, digits, '_', '.' or '-' (starting with a letter or digit), got \"web 3\"",
    "line 9: groups.web.hosts.web4.address: must be HOST:PORT or unix:/PATH, got nothing",
    "line 9: groups.web.hosts.web4.vars: must be a mapping of variable names to values, got a list",
    'line 10: groups.web.hosts.web5: must be HOST:PORT or unix:/PATH, got string "nope"',
    "line 11: groups.web.canary.0: web9 is not one of this group's hosts",
    "line 11: groups.web.canary.2: 10.0.0.11:7601 is listed twice",
  ]);
});

test("schedules: the one-file form and a list of files with templates", () => {
  const base = "groups:\n  web:\n    service: nginx\n    hosts: [a:7601]\nschedules:\n";
  const { r } = parse(`${base}  - { name: one, cron: "0 3 * * *", group: web, config: { source: /srv/n.conf, path: /etc/nginx/nginx.conf } }
  - name: set
    cron: "0 4 * * *"
    group: web
    config:
      - { source: /srv/n.conf, path: /etc/nginx/nginx.conf }
      - { source: /srv/site.liquid, path: /etc/nginx/site.conf, template: true }
`);
  assert.ok(r.ok);
  assert.deepEqual(r.value.schedules.map((s) => s.files), [
    [{ source: "/srv/n.conf", path: "/etc/nginx/nginx.conf", template: false }],
    [
      { source: "/srv/n.conf", path: "/etc/nginx/nginx.conf", template: false },
      { source: "/srv/site.liquid", path: "/etc/nginx/site.conf", template: true },
    ],
  ]);
  const bad = parse(`${base}  - { name: s, cron: "0 3 * * *", group: web, config: [{ source: rel, path: /etc/a }, { source: /x, path: /etc/a, template: yes }] }\n`);
  assert.deepEqual(bad.problems, [
    'line 6: schedules.0.config.0.source: must be an absolute path, got "rel"',
    'line 6: schedules.0.config.1.template: must be true or false, got string "yes"',
  ]);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseInventory } from "../../controller/inventory/parse-inventory.js";
import { hostKey } from "../../controller/inventory/host-key.js";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";
import { MemoryHistoryStore } from "../../controller/history/memory-history-store.js";

test("one agent under several spellings has one key", () => {
  const same: string[][] = [
    ["web1:7601", "WEB1:7601", "web1.:7601", "Web1.:07601"],
    ["web1.example.net:7601", "WEB1.EXAMPLE.NET.:7601"],
    ["localhost:7601", "127.0.0.1:7601", "[::1]:7601", "LOCALHOST.:7601", "127.1:7601", "[0:0:0:0:0:0:0:1]:7601", "agent.localhost:7601"],
    ["[2001:DB8::1]:7601", "[2001:db8:0:0:0:0:0:1]:7601"],
    ["unix:/run/fleet/agent.sock", "unix:/run//fleet/./agent.sock"],
  ];
  for (const list of same) for (const a of list) assert.equal(hostKey(a), hostKey(list[0]!), `${a} vs ${list[0]}`);
});

test("different agents keep different keys", () => {
  const all = ["web1:7601", "web1:7602", "web2:7601", "web1.example.net:7601", "127.0.0.2:7601", "127.0.0.1:7602", "10.0.0.1:7601", "unix:/run/a.sock", "unix:/run/b.sock"];
  assert.equal(new Set(all.map(hostKey)).size, all.length);
});

test("a group listing one agent twice under two spellings is refused, naming both", () => {
  const r = parseInventory({ groups: { web: { service: "web", hosts: ["127.0.0.1:7601", "WEB1:7601", "localhost:7601", "web1.:7601"] } } });
  assert.equal(r.ok, false);
  const messages = r.ok ? [] : r.problems.map((p) => `${p.path.join(".")}: ${p.message}`);
  assert.equal(messages.length, 2, messages.join("\n"));
  assert.match(messages[0]!, /^groups\.web\.hosts\.2: localhost:7601 is 127\.0\.0\.1:7601 again/);
  assert.match(messages[1]!, /^groups\.web\.hosts\.3: web1\.:7601 is WEB1:7601 again/);
});

for (const [name, make] of [["sqlite", () => new SqliteHistoryStore(":memory:")], ["memory", () => new MemoryHistoryStore()]] as const) {
  test(`${name}: a host lock taken under one spelling refuses the other`, () => {
    const store = make();
    const rollout = (group: string, host: string) => ({ kind: "reload" as const, group, service: "web", reason: "", requestedBy: "u", requestedFrom: "t", policy: "{}", allowRestart: false, steps: [{ host, batch: 0, canary: false }] });
    const first = store.createRollout(rollout("front", "127.0.0.1:7601"), 1);
    assert.throws(() => store.createRollout(rollout("back", "localhost:7601"), 2), new RegExp(`host localhost:7601 \\(service web\\) is busy: rollout ${first.id} \\(group front`));
    assert.throws(() => store.createRollout(rollout("other", "127.0.0.1.:7601"), 2), /is busy/);
    store.finishRollout(first.id, "succeeded", "", 3);
    store.createRollout(rollout("back", "localhost:7601"), 4);
    store.close();
  });
}

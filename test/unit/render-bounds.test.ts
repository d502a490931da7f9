// Template rendering runs on the controller's thread, so it is bounded for all hosts of a plan
// together: one render stops near its per-host limit, and a plan stops rendering once the
// plan-wide budget is spent (instead of hosts x limit of blocked event loop).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { InventoryHost } from "../../controller/inventory/inventory.js";
import { renderConfigSet } from "../../controller/rollout/render-config-set.js";

const group = { name: "web", service: "web", vars: {} };
const hosts = (n: number): InventoryHost[] => Array.from({ length: n }, (_, i) => ({ name: `web${i}`, address: `10.0.0.${i + 1}:7601`, vars: {}, labels: {} }));

test("one output node with a filter chain is stopped near the 2 s render limit", () => {
  const grow = '{% assign s = "ab" %}{% for i in (1..19) %}{% assign s = s | append: s %}{% endfor %}';
  const src = `${grow}{{ s | split: "" ${"| sort_natural ".repeat(40)}| size }}`;
  const t0 = Date.now();
  renderConfigSet([{ path: "/etc/x.conf", content: Buffer.from(src), template: true }], hosts(1), group);
  const ms = Date.now() - t0;
  assert.ok(ms < 3000, `one host's render blocked the event loop for ${ms} ms (limit is 2000 ms)`);
});

test("a template that hits the render limit does not block the controller for hosts x limit", () => {
  const src = "{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}";
  let maxGap = 0;
  const t0 = Date.now();
  const r = renderConfigSet([{ path: "/etc/x.conf", content: Buffer.from(src), template: true }], hosts(4), group);
  maxGap = Date.now() - t0; // renderConfigSet is synchronous: this is how long the event loop was blocked
  assert.equal(r.ok, false);
  assert.ok(maxGap < 3000, `renderConfigSet blocked the event loop for ${maxGap} ms for 4 hosts (about 2 s per host)`);
});

// StatusCache: one computation per TTL shared by every caller, dropped by a
// change to the service (even one that started while it was computing), and
// a failure never cached.
import assert from "node:assert/strict";
import { test } from "node:test";
import { StatusCache } from "../../agent/status-cache.js";

function setup() {
  let t = 0;
  const cache = new StatusCache<number>(500, () => t);
  let runs = 0;
  const pending: ((v: number) => void)[] = [];
  const compute = () => {
    runs++;
    return new Promise<number>((resolve) => pending.push(resolve));
  };
  return { cache, compute, runs: () => runs, settle: (v: number) => pending.splice(0).forEach((r) => r(v)), advance: (ms: number) => (t += ms) };
}

test("concurrent callers share one computation; a later caller within the TTL reuses it; past the TTL it runs again", async () => {
  const { cache, compute, runs, settle, advance } = setup();
  const a = cache.get("web", compute);
  const b = cache.get("web", compute);
  settle(1);
  assert.deepEqual(await Promise.all([a, b]), [1, 1]);
  advance(499);
  assert.equal(await cache.get("web", compute), 1);
  assert.equal(runs(), 1);
  advance(1);
  const c = cache.get("web", compute);
  settle(2);
  assert.equal(await c, 2);
  assert.equal(runs(), 2);
  assert.equal(cache.get("other", compute) !== c, true, "services are cached apart");
});

test("invalidate: the next caller computes again, and a computation that began before it is not reused", async () => {
  const { cache, compute, runs, settle } = setup();
  const before = cache.get("web", compute);
  cache.invalidate("web");
  const after = cache.get("web", compute);
  settle(7);
  await Promise.all([before, after]);
  assert.equal(runs(), 2);
  cache.get("web", compute);
  assert.equal(runs(), 2, "the one started after the change is reused");
  cache.clear();
  cache.get("web", compute);
  assert.equal(runs(), 3);
});

test("a failed computation is not cached", async () => {
  const { cache } = setup();
  await assert.rejects(cache.get("web", () => Promise.reject(new Error("probe crashed"))), /probe crashed/);
  assert.equal(await cache.get("web", async () => 3), 3);
});

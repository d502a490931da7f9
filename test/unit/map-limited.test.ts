import assert from "node:assert/strict";
import { test } from "node:test";
import { mapLimited } from "../../common/map-limited.js";

test("mapLimited keeps input order and never has more than the limit in flight", async () => {
  let inFlight = 0;
  let most = 0;
  const out = await mapLimited(Array.from({ length: 50 }, (_, i) => i), 4, async (x) => {
    inFlight++;
    most = Math.max(most, inFlight);
    // Later items finish sooner, so order comes from the indexes, not from completion.
    await new Promise((r) => setTimeout(r, (50 - x) % 7));
    inFlight--;
    return x * 2;
  });
  assert.deepEqual(out, Array.from({ length: 50 }, (_, i) => i * 2));
  assert.equal(most, 4);
});

test("mapLimited rejects with the first failure and starts nothing after it", async () => {
  const started: number[] = [];
  await assert.rejects(
    mapLimited([0, 1, 2, 3, 4, 5], 1, async (x) => {
      started.push(x);
      if (x === 2) throw new Error("host 2 broke");
      return x;
    }),
    /host 2 broke/,
  );
  assert.deepEqual(started, [0, 1, 2]);
});

test("mapLimited on an empty list and a bad limit", async () => {
  assert.deepEqual(await mapLimited([], 3, async () => 1), []);
  await assert.rejects(mapLimited([1], 0, async (x) => x), /limit must be a positive integer, got 0/);
});

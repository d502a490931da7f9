// The refusal log's rate limit with a fake clock: one line per address per
// window, the count of those left out on the next line, a bounded table.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LogFields } from "../../common/logger.js";
import { PeerLog } from "../../common/peer-log.js";

function setup(maxPeers = 1024) {
  let now = 1_000_000;
  const lines: LogFields[] = [];
  const log = new PeerLog((msg, fields) => lines.push({ msg, ...fields }), 60_000, maxPeers, () => now);
  return { log, lines, advance: (ms: number) => (now += ms) };
}

test("one line per address per minute; the next line says how many were left out", () => {
  const { log, lines, advance } = setup();
  for (let i = 0; i < 100; i++) log.note("10.0.0.9", "refused a TLS handshake", { error: "no certificate" });
  log.note("10.0.0.8", "refused a request (403)", { reason: "no role" });
  assert.deepEqual(lines.map((l) => l.peer), ["10.0.0.9", "10.0.0.8"]);
  advance(59_999);
  log.note("10.0.0.9", "refused a TLS handshake", {});
  assert.equal(lines.length, 2);
  advance(1);
  log.note("10.0.0.9", "refused a TLS handshake", {});
  assert.deepEqual(lines[2], { msg: "refused a TLS handshake", peer: "10.0.0.9", more_since_last_line: 100 });
});

test("the table of addresses is bounded: when full of recent ones, new addresses are counted, not logged, until room is made", () => {
  const { log, lines, advance } = setup(3);
  for (const peer of ["a", "b", "c", "d", "e"]) log.note(peer, "refused", {});
  assert.deepEqual(lines.map((l) => l.peer), ["a", "b", "c"]);
  advance(60_000);
  log.note("f", "refused", {});
  assert.deepEqual(lines[3], { msg: "refused", peer: "f", from_other_addresses_unlogged: 2 });
});

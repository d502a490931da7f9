// The README's first command runs to completion and shows what it promises.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runFleet } from "../helpers/run-cli.js";

test("fleet demo: canary, batches, a halted rollout and the history; exit 0", async () => {
  const r = await runFleet(["demo"], {}, 180_000);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /batch 0 \(canary\): 127\.0\.0\.1:\d+/);
  assert.match(r.stdout, /batch 1: 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+/);
  assert.match(r.stdout, /finished succeeded: all 5 hosts done/);
  assert.match(r.stdout, /host_finished 127\.0\.0\.1:\d+ unhealthy/);
  assert.match(r.stdout, /halted: canary failed/);
  assert.match(r.stdout, /web2 has received 1 SIGHUP\n/);
  assert.match(r.stdout, /ID +STATE +GROUP +KIND +HOSTS +OK\/FAIL\/SKIP[^\n]*\n2 +failed +demo +reload +5 +0\/1\/4[^\n]*\n1 +succeeded +demo +reload +5 +5\/0\/0/);
});

// What every `fleet` command pays before it does anything: bin/fleet starts Node without
// NODE_EXTRA_CA_CERTS, which Node 20 would read and parse at start-up (a whole distribution
// bundle there costs tens of ms) although the CLI never uses the default trust store.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { runFleet } from "../helpers/run-cli.js";

test("bin/fleet starts Node without NODE_EXTRA_CA_CERTS", async () => {
  const missing = "/nonexistent/fleet-test-bundle.pem";
  // The control: Node itself reads the variable at start-up, and says so when the file is missing.
  const plain = spawnSync(process.execPath, ["-e", "0"], { env: { ...process.env, NODE_EXTRA_CA_CERTS: missing }, encoding: "utf8", timeout: 30_000 });
  assert.match(plain.stderr, /Ignoring extra certs from `\/nonexistent\/fleet-test-bundle\.pem`/);

  const r = await runFleet(["--help"], { NODE_EXTRA_CA_CERTS: missing });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: fleet/);
  assert.doesNotMatch(r.stderr, /extra certs/);
});

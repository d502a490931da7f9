// Guarantee: controller.operators is read on every call. Removing a
// certificate name and sending SIGHUP revokes it at once: the SIGHUP is
// accepted and that certificate's next call is refused. (Before, the TLS
// listener kept the grants of the start-up inventory until a restart.)
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { freePort } from "../../common/free-port.js";
import { startControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const skip = existsSync("/usr/bin/openssl") ? undefined : "openssl not installed";
const scratch = scratchDir();
const tls = path.join(scratch.dir, "tls");

before(async () => {
  if (skip) return;
  for (const args of [["init", "--dir", tls], ["issue", "--dir", tls, "--controller", "127.0.0.1"], ["issue", "--dir", tls, "--operator", "mallory"]]) {
    const r = await runFleet(["certs", ...args]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  }
});
after(() => scratch.remove());

test("removing an operator from controller.operators and SIGHUP revokes that certificate (or the SIGHUP is refused)", { skip }, async () => {
  const port = await freePort();
  const groups = "  web:\n    service: web\n    hosts: [192.0.2.1:7601]\n";
  const file = writeInventory(scratch.dir, groups);
  const listen = (operate: string) =>
    `listen: "127.0.0.1:${port}", tls: { cert: ${tls}/controller-127.0.0.1.crt, key: ${tls}/controller-127.0.0.1.key, ca: ${tls}/ca.crt }, operators: { read: [], operate: [${operate}] }`;
  const base = readFileSync(file, "utf8");
  writeFileSync(file, base.replace(/listen: "unix:[^"]+"/, listen("mallory")));
  const daemon = await startControllerDaemon(file);
  const env = { FLEET_CONTROLLER: `127.0.0.1:${port}`, FLEET_TLS_CA: `${tls}/ca.crt`, FLEET_TLS_CERT: `${tls}/operator-mallory.crt`, FLEET_TLS_KEY: `${tls}/operator-mallory.key` };
  try {
    // Authorized, the dry run gets as far as its preflight, which finds the (TEST-NET) agent unreachable: exit 3, not a refused role.
    const before = await runFleet(["reload", "web", "--dry-run"], env);
    assert.equal(before.code, 3, `mallory may operate before the revocation:\n${before.stdout}${before.stderr}`);
    assert.match(before.stdout, /preflight_failed 192\.0\.2\.1:7601 unreachable/);
    // Revoke mallory: no operators at all any more (another name keeps the file valid).
    writeFileSync(file, base.replace(/listen: "unix:[^"]+"/, listen("alice")));
    daemon.child.kill("SIGHUP");
    await waitFor("the SIGHUP to be handled", () => /inventory reloaded|reload refused/.test(daemon.output()), 10_000);
    assert.match(daemon.output(), /inventory reloaded/, "a change of operators is applied, not refused");
    const after = await runFleet(["reload", "web", "--dry-run"], env);
    assert.notEqual(after.code, 0, `the SIGHUP was accepted yet the revoked certificate still operates:\n${after.stdout}${after.stderr}`);
    assert.match(after.stderr, /needs the operate role; certificate mallory has no role/, after.stderr);
    const read = await runFleet(["history"], env);
    assert.notEqual(read.code, 0, "a revoked certificate cannot read either");
  } finally {
    await daemon.stop();
  }
});

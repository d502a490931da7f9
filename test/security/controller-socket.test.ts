// The controller's CLI socket: root only by default, plus controller.socket_group when set.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { startController, writeInventory } from "../helpers/controller-harness.js";
import { FLEET_BIN } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const notRoot = process.getuid?.() === 0 ? undefined : "needs root to run the CLI as another user (CI runs as root)";
if (notRoot) console.log(`# skipping controller socket test: ${notRoot}`);

function fleetAs(uid: number, gid: number, args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(FLEET_BIN, args, { uid, gid, env: { ...process.env, ...env, HOME: "/tmp" }, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    let stderr = "";
    c.stderr.on("data", (d) => (stderr += d));
    c.on("exit", (code) => resolve({ code, stderr }));
  });
}

test("only root and controller.socket_group may use the controller socket", { skip: notRoot }, async () => {
  const scratch = scratchDir();
  const groups = "  web:\n    service: nginx\n    hosts: [a:7601]\n";
  try {
    let controller = await startController(writeInventory(scratch.dir, groups));
    const env = { FLEET_CONTROLLER: controller.address };
    const sock = controller.address.slice(5);
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    const denied = await fleetAs(65534, 65534, ["history"], env);
    assert.equal(denied.code, 3, denied.stderr);
    assert.match(denied.stderr, /cannot connect to the controller socket .*: permission denied for user nobody; controller\.socket_group in \/etc\/fleet\/fleet\.yaml names the group that may connect/);
    await controller.stop();

    const file = writeInventory(scratch.dir, groups);
    writeFileSync(file, readFileSync(file, "utf8").replace("controller: {", "controller: { socket_group: nogroup,"));
    controller = await startController(file);
    try {
      assert.equal(statSync(sock).mode & 0o777, 0o660);
      assert.equal(statSync(sock).gid, 65534);
      const allowed = await fleetAs(65534, 65534, ["history"], env);
      assert.equal(allowed.code, 0, allowed.stderr);
    } finally {
      await controller.stop();
    }
  } finally {
    scratch.remove();
  }
});

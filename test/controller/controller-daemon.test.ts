// The controller daemon reloads its inventory on SIGHUP and keeps the old one when the new one is invalid.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { writeInventory } from "../helpers/controller-harness.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { CONTROLLER_BIN } from "../helpers/built-bins.js";
import { waitFor } from "../helpers/wait-for.js";

test("SIGHUP: an invalid inventory is refused and the old one kept; a valid one takes effect", async () => {
  const scratch = scratchDir();
  const file = writeInventory(scratch.dir, "  web:\n    service: nginx\n    hosts: [a:7601, b:7601, c:7601]\n");
  const child = spawn(CONTROLLER_BIN, ["--config", file], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
  try {
    await waitFor("the controller to listen", () => out.includes("controller listening"), 20_000);
    const dry = await runFleet(["reload", "web", "--canary", "1", "--batch", "2", "--dry-run"], env);
    // The hosts do not exist: the plan is printed, and its preflight finds them unreachable (exit 3).
    assert.equal(dry.code, 3, dry.stderr);
    assert.match(dry.stdout, /preflight refused: 0 of 3 hosts ready/);
    assert.match(dry.stdout, /batch 0 \(canary\): a:7601\n.*batch 1: b:7601, c:7601/s);

    writeFileSync(file, "groups:\n  web:\n    hosts: nope\n");
    child.kill("SIGHUP");
    await waitFor("the refusal", () => out.includes("inventory reload refused"));
    assert.match(out, /groups\.web\.service: must be a non-empty string/);
    const kept = await runFleet(["reload", "web", "--dry-run"], env);
    assert.equal(kept.code, 3, "old inventory kept: the same plan and preflight, not an unknown group");
    assert.match(kept.stdout, /batch 0 \(canary\): a:7601/);

    writeInventory(scratch.dir, "  api:\n    service: app\n    hosts: [x:7601]\n");
    child.kill("SIGHUP");
    await waitFor("the new inventory", () => out.includes('"msg":"inventory reloaded","groups":["api"]'));
    const gone = await runFleet(["reload", "web", "--dry-run"], env);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /no group "web" in the inventory; groups: api/);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.on("exit", r));
    scratch.remove();
  }
});

// Guarantee: a --hosts pattern (even with --dry-run, from any operate caller)
// is matched in linear time, so no pattern can hold the controller's event
// loop: other callers and running rollouts keep being served while it is
// matched. (A RegExp of `.*`s grew ~6x per two stars: 14 stars took 1.5 s per
// 15-character address.)
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { globMatch } from "../../controller/glob-match.js";
import { startControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const scratch = scratchDir();
after(() => scratch.remove());

test("globMatch is linear: 12 stars against a 15-character address takes milliseconds", () => {
  const t = Date.now();
  // Bounded: 12 stars already costs ~0.3 s with the RegExp; 40 would never end.
  assert.equal(globMatch("*".repeat(12) + "x", "127.0.0.1:40585"), false);
  assert.ok(Date.now() - t < 50, `12 stars took ${Date.now() - t} ms`);
});

test("a --hosts pattern cannot freeze the controller for other callers", async () => {
  const file = writeInventory(scratch.dir, "  web:\n    service: web\n    hosts: [web-server-01.example.net:7601, web-server-02.example.net:7601]\n");
  const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
  const d = await startControllerDaemon(file);
  try {
    const dry = runFleet(["reload", "web", "--hosts", "*".repeat(18) + "x", "--dry-run"], env, 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    const t = Date.now();
    const h = await runFleet(["history"], env, 5000);
    assert.equal(h.code, 0, `fleet history from another caller got no answer in ${Date.now() - t} ms`);
    await dry;
  } finally {
    d.child.kill("SIGKILL");
    await d.exited;
  }
});

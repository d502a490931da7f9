// abort and resume of a rollback entry whose config rollout is still running
// (restoring its canary): refused with what is true — the entry runs with its
// parent, which abort can stop — never "left running by a controller that stopped".
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import { ControllerCore } from "../../controller/controller-core.js";
import { MemoryHistoryStore } from "../../controller/history/memory-history-store.js";
import { FakeAgents } from "../helpers/fake-agents.js";
import { waitFor } from "../helpers/wait-for.js";
import { unitInventory } from "../helpers/unit-inventory.js";

const HOSTS = ["h1:7601", "h2:7601"];

test("a rollback entry whose parent is running: abort and resume say it ends with its parent", async () => {
  const store = new MemoryHistoryStore();
  const agents = new FakeAgents(HOSTS);
  const inventory = unitInventory({ web: HOSTS });
  const core = new ControllerCore(inventory, store, silentLogger, { agents: agents.client, retryMs: { first: 10, max: 40 } });
  const bad = "bad config";
  agents.hosts.forEach((h) => h.badConfigs.add(createHash("sha256").update(bad).digest("hex")));
  let release: (() => void) | undefined;
  const started = core.startConfigRollout(
    { group: "web", policy: { canary: "1" }, hosts: [], reason: "unit", caller: { user: "u", host: "h" }, peer: "t", allowRestart: false, files: [{ path: "/etc/web.conf", content: Buffer.from(bad), template: false }], rollbackAll: false },
    (e) => {
      // The canary's restore is held in flight.
      if (e.kind === "rollback_started") release = agents.hold("h1:7601");
    },
  );
  const parent = started.rollout.id;
  try {
    const entry = await waitFor("the rollback entry", () => store.linkedRollouts(parent)[0]);
    assert.equal(entry.state, "running");
    const why = new RegExp(`rollout ${entry.id} is the rollback entry of rollout ${parent}, which is running; this entry ends with it \\(fleet abort ${parent} stops it`);
    assert.throws(() => core.abort(entry.id, "unit"), why);
    assert.throws(() => core.resume(entry.id, () => undefined), why);
  } finally {
    release?.();
  }
  const done = await started.done;
  assert.equal(done.state, "failed");
  assert.equal(store.linkedRollouts(parent)[0]!.state, "succeeded");
  await core.shutdown(0);
});

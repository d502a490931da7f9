// Guarantee: every history-journal write is one transaction, so a storage
// fault in the middle of a write made of several calls (a restore step is
// "add the step" then "mark it running"; a disk filling up between them)
// leaves nothing half-committed. The retry then succeeds as soon as the disk
// does: the rollout ends `interrupted`, its locks released, and abort/resume
// work without a restart. (Before, the retry re-added the step, hit
// UNIQUE(rollout_id, host) and was retried forever.)
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import { ControllerCore } from "../../controller/controller-core.js";
import type { HistoryStore } from "../../controller/history/history-store.js";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";
import { FakeAgents } from "../helpers/fake-agents.js";
import { unitInventory } from "../helpers/unit-inventory.js";

const HOSTS = ["h1:7601", "h2:7601"];
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

test("a restore-step write that half-commits on a full disk does not wedge the rollout forever", async () => {
  const inner = new SqliteHistoryStore(":memory:");
  let failOnce = true;
  // markStepsRunning of the rollback entry fails once, as a full disk would, after addSteps committed.
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "markStepsRunning") {
        return (id: number, hosts: string[], now: number) => {
          if (failOnce && target.getRollout(id)?.kind === "rollback") {
            failOnce = false;
            throw new Error("database or disk is full");
          }
          return target.markStepsRunning(id, hosts, now);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as HistoryStore;
  const inventory = unitInventory({ web: HOSTS });
  const agents = new FakeAgents(HOSTS);
  const bad = "bad config";
  agents.hosts.forEach((h) => h.badConfigs.add(sha(bad)));
  const core = new ControllerCore(inventory, store, silentLogger, { agents: agents.client, retryMs: { first: 10, max: 40 } });
  const started = core.startConfigRollout(
    { group: "web", policy: { canary: "1" }, hosts: [], reason: "disk full once", caller: { user: "u", host: "h" }, peer: "t", allowRestart: false, files: [{ path: "/etc/web.conf", content: Buffer.from(bad), template: false }], rollbackAll: false },
    () => undefined,
  );
  const ended = await Promise.race([started.done.then((r) => r.state), new Promise<string>((r) => setTimeout(() => r("still running after 5s"), 5000))]);
  const id = started.rollout.id;
  const locks = { abort: "", resume: "" };
  try { core.abort(id, "attacker"); } catch (e) { locks.abort = (e as Error).message; }
  try { core.resume(id, () => undefined); } catch (e) { locks.resume = (e as Error).message; }
  await core.shutdown(0).catch(() => undefined);
  assert.equal(ended, "interrupted", `the disk was full for one write only; the rollout should end interrupted and release its locks (abort: ${locks.abort}; resume: ${locks.resume})`);
});

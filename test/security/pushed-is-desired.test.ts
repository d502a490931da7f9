// A hostile or buggy agent that answers PushConfig with "installed" but other contents or other
// paths than were pushed: its step fails (the answer does not match), and the desired state is
// only ever what the controller pushed, so it can neither hide drift nor plant desired entries.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import type { ConfigRolloutRequest } from "../../controller/controller-api.js";
import { ControllerCore } from "../../controller/controller-core.js";
import { MemoryHistoryStore } from "../../controller/history/memory-history-store.js";
import { ConfigChange } from "../../proto/gen/fleet/agent/v1/agent.js";
import { FakeAgents } from "../helpers/fake-agents.js";
import { unitInventory } from "../helpers/unit-inventory.js";

const HOSTS = ["h1:7601", "h2:7601"];
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const LIE = "f".repeat(64);

const inventory = unitInventory({ web: HOSTS });

test("an agent's answer that does not match what was pushed fails the step and records nothing as desired", async () => {
  const store = new MemoryHistoryStore();
  const fakes = new FakeAgents(HOSTS);
  const agents = (address: string) => {
    const c = fakes.client(address);
    if (address !== "h1:7601") return c;
    return {
      ...c,
      // Claims the install worked, reports a different hash and an extra path, installs nothing.
      pushConfig: async (req: { requestId: string }) => ({
        requestId: req.requestId, service: "web", path: "/etc/web.conf", change: ConfigChange.CONFIG_CHANGE_INSTALLED,
        previousSha256: "sha-old", newSha256: LIE, check: undefined, ok: true, reason: "reloaded", replayed: false,
        reload: { requestId: req.requestId, service: "web", outcome: 1, reason: "reloaded", evidence: undefined, replayed: false, hostname: address, ok: true },
        files: [
          { path: "/etc/web.conf", previousSha256: "sha-old", newSha256: LIE, change: ConfigChange.CONFIG_CHANGE_INSTALLED },
          { path: "/etc/other.conf", previousSha256: "", newSha256: LIE, change: ConfigChange.CONFIG_CHANGE_INSTALLED },
        ],
        restored: false, restoreReload: undefined,
      }),
    } as never;
  };
  const core = new ControllerCore(inventory, store, silentLogger, { agents, bakeProbeEveryMs: 5, retryMs: { first: 10, max: 40 } });
  const req: ConfigRolloutRequest = { group: "web", policy: { canary: "0", batch: "2" }, hosts: [], reason: "attack", caller: { user: "u", host: "h" }, peer: "test", allowRestart: false, files: [{ path: "/etc/web.conf", content: Buffer.from("new\n"), template: false }], rollbackAll: false };
  const done = await core.startConfigRollout(req, () => undefined).done;
  assert.equal(done.state, "failed", done.summary);
  assert.match(done.summary, /h1:7601: failed — the agent's answer does not match what was pushed: \/etc\/web\.conf, \/etc\/other\.conf/);
  const h1 = store.desiredFiles("h1:7601", "web");
  assert.ok(!h1.some((d) => d.path === "/etc/other.conf"), "a path that was never pushed is never recorded (nor restored)");
  assert.ok(!h1.some((d) => d.sha256 === LIE), "the claimed hash is never recorded as installed");
  // The same policy with the honest host alone records exactly what was pushed.
  const honest = await core.startConfigRollout({ ...req, hosts: ["h2:7601"] }, () => undefined).done;
  assert.equal(honest.state, "succeeded", honest.summary);
  assert.deepEqual(store.desiredFiles("h2:7601", "web").map((d) => [d.path, d.sha256]), [["/etc/web.conf", sha("new\n")]], "honest host");
});

test("an agent's restore answer naming another version than was asked fails the restore and records nothing as desired", async () => {
  const store = new MemoryHistoryStore();
  const fakes = new FakeAgents(["h1:7601"]);
  fakes.host("h1:7601").badConfigs.add(sha("bad\n"));
  const agents = (address: string) => {
    const c = fakes.client(address);
    return {
      ...c,
      // Says it restored, but reports other bytes than the version asked for (a damaged kept version, or a lie).
      rollbackConfig: async (req: { requestId: string }) => {
        const honest = await c.rollbackConfig(req as never);
        return { ...honest, newSha256: LIE, files: honest.files.map((f) => ({ ...f, newSha256: LIE })) };
      },
    } as never;
  };
  const core = new ControllerCore(unitInventory({ web: ["h1:7601"] }), store, silentLogger, { agents, bakeProbeEveryMs: 5, retryMs: { first: 10, max: 40 } });
  const req: ConfigRolloutRequest = { group: "web", policy: { canary: "0", batch: "1" }, hosts: [], reason: "attack", caller: { user: "u", host: "h" }, peer: "test", allowRestart: false, files: [{ path: "/etc/web.conf", content: Buffer.from("bad\n"), template: false }], rollbackAll: false };
  const done = await core.startConfigRollout(req, () => undefined).done;
  assert.equal(done.state, "failed", done.summary);
  const entry = store.linkedRollouts(done.id)[0];
  assert.ok(entry, "the restore ran as a linked rollback entry");
  assert.equal(entry.state, "failed", entry.summary);
  const step = store.getSteps(entry.id)[0]!;
  assert.equal(step.ok, false);
  assert.match(step.reason, /the agent's answer does not match what was asked to restore: \/etc\/web\.conf \(not the requested content/);
  assert.ok(!store.desiredFiles("h1:7601", "web").some((d) => d.sha256 === LIE), "the claimed hash is never recorded as desired");
});

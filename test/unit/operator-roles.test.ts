import assert from "node:assert/strict";
import { test } from "node:test";
import type { ControllerSettings } from "../../controller/inventory/inventory.js";
import { authorize, certificateGrant, RPC_ROLE, socketGrant } from "../../controller/server/operator-roles.js";

const settings: ControllerSettings = { listen: "10.0.0.2:7600", db: "/x", socketGroup: "ops", operators: { read: ["mon"], operate: ["alice"] } };

test("roles: read looks, operate changes; operate includes read; unknown certificates get nothing", () => {
  assert.deepEqual(Object.entries(RPC_ROLE).filter(([, r]) => r === "read").map(([rpc]) => rpc).sort(), ["ControllerStatus", "GroupStatus", "History", "ListSchedules", "Show", "Watch"]);
  authorize("History", certificateGrant(settings, "mon"));
  authorize("Reload", certificateGrant(settings, "alice"));
  authorize("History", certificateGrant(settings, "alice"));
  assert.throws(() => authorize("Abort", certificateGrant(settings, "mon")), /Abort needs the operate role; certificate mon has only read/);
  assert.throws(() => authorize("Show", certificateGrant(settings, "eve")), /Show needs the read role; certificate eve has no role/);
  assert.throws(() => authorize("Show", certificateGrant(settings, undefined)), /no role/);
  authorize("Resume", socketGrant(settings, "listen"));
  assert.throws(() => authorize("Resume", socketGrant(settings, "read_socket")), /Resume needs the operate role; a caller on controller\.read_socket has only read \(.*group ops/);
});

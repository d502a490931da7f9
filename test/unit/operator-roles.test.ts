import assert from "node:assert/strict";
import { test } from "node:test";
import type { ControllerSettings } from "../../controller/inventory/inventory.js";
import { allowRefusal } from "../../agent/server/authenticator.js";
import { authorize, certificateGrant, httpRefusal, RPC_ROLE, socketGrant } from "../../controller/server/operator-roles.js";

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

test("the metrics and web listeners with TLS need the read role; the refusal names it and controller.operators", () => {
  assert.equal(httpRefusal("metrics", certificateGrant(settings, "mon")), undefined);
  assert.equal(httpRefusal("web", certificateGrant(settings, "alice")), undefined, "operate includes read");
  assert.equal(httpRefusal("web", certificateGrant(settings, "eve")), "the web view (web.tls) needs the read role; certificate eve has no role (controller.operators: read [mon], operate [alice])");
  assert.match(httpRefusal("metrics", certificateGrant(settings, undefined))!, /^the metrics endpoint \(metrics\.tls\) needs the read role; a caller without a client certificate name has no role/);
});

test("tls.allow.Metrics admits the names it lists (any certificate from the CA without a list, or with \"*\")", () => {
  assert.equal(allowRefusal(undefined, "Metrics", "eve"), undefined);
  assert.equal(allowRefusal({ Reload: ["controller"] }, "Metrics", "eve"), undefined, "another RPC's list does not restrict Metrics");
  assert.equal(allowRefusal({ Metrics: ["*"] }, "Metrics", "eve"), undefined);
  assert.equal(allowRefusal({ Metrics: ["mon"] }, "Metrics", "mon"), undefined);
  assert.equal(allowRefusal({ Metrics: ["mon"] }, "Metrics", "eve"), "client eve may not read Metrics (tls.allow.Metrics: mon)");
  assert.equal(allowRefusal({ Reload: ["controller"] }, "Reload", "eve"), "client eve may not call Reload (tls.allow.Reload: controller)");
});

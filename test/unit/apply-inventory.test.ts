// SIGHUP's apply step with stand-ins: when preparing the observability side
// fails (TLS cannot load the new files), nothing of the new inventory is put in
// force — the core keeps the previous one, so "keeping the previous inventory"
// is true; when it succeeds, the core and observability change together.
import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import { applyInventory } from "../../controller/apply-inventory.js";
import type { ControllerCore } from "../../controller/controller-core.js";
import type { Inventory } from "../../controller/inventory/inventory.js";
import type { RunningObservability } from "../../controller/observability/start-observability.js";

function standIns(prepareFails: boolean) {
  const steps: string[] = [];
  const previous = { controller: { listen: "unix:/x", operators: { read: ["mon"], operate: [] } }, groups: new Map() } as unknown as Inventory;
  const core = { currentInventory: previous, replaceInventory: () => steps.push("core") } as unknown as ControllerCore;
  const observability = {
    prepare: () => {
      if (prepareFails) throw new Error("metrics.tls: TLS cannot use the files");
      steps.push("prepared");
      return () => steps.push("observability");
    },
  } as unknown as RunningObservability;
  return { steps, core, observability, next: { ...previous, controller: { ...previous.controller, operators: { read: [], operate: [] } } } as Inventory };
}

test("a failed prepare throws before the core sees the new inventory", () => {
  const { steps, core, observability, next } = standIns(true);
  assert.throws(() => applyInventory(core, observability, next, silentLogger), /TLS cannot use the files/);
  assert.deepEqual(steps, []);
});

test("a successful prepare: the core, then the observability side, in one go", () => {
  const { steps, core, observability, next } = standIns(false);
  applyInventory(core, observability, next, silentLogger);
  assert.deepEqual(steps, ["prepared", "core", "observability"]);
});

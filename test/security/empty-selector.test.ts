// An empty selection (`--hosts ""`, `--select ,`, a script's unset variable) is a usage error,
// never "every host".
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSelector, selectHosts } from "../../controller/inventory/select-hosts.js";
import type { InventoryHost } from "../../controller/inventory/inventory.js";

const members: InventoryHost[] = ["web1", "web2", "web3"].map((name, i) => ({ name, address: `10.0.0.${i + 1}:7601`, vars: {}, labels: { zone: i ? "b" : "a" } }));

test("--select given but empty (or only commas) is refused, not 'every host'", () => {
  for (const text of [",", " , ", ",,"]) {
    const r = parseSelector(text);
    const all = r.ok && selectHosts(members, [], r.terms).selected.length === members.length;
    assert.ok(!all, `--select ${JSON.stringify(text)} selected every host of the group`);
  }
});

test("the real CLI: --hosts '' and --hosts , are refused, not 'every host'", async () => {
  const { startController, writeInventory } = await import("../helpers/controller-harness.js");
  const { runFleet } = await import("../helpers/run-cli.js");
  const { scratchDir } = await import("../helpers/scratch-dir.js");
  const { FakeAgents } = await import("../helpers/fake-agents.js");
  const scratch = scratchDir();
  const fakes = new FakeAgents(["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]);
  const c = await startController(
    writeInventory(scratch.dir, "  web:\n    service: web\n    hosts: { web1: 127.0.0.1:1, web2: 127.0.0.1:2, web3: 127.0.0.1:3 }\n"),
    { agents: fakes.client },
  );
  try {
    for (const hosts of ["", ","]) {
      const r = await runFleet(["reload", "web", "--hosts", hosts, "--dry-run", "--canary", "0"], { FLEET_CONTROLLER: c.address });
      const out = r.stdout + r.stderr;
      const all = ["web1", "web2", "web3"].every((n) => out.includes(n)) && !out.includes("not selected");
      assert.ok(r.code === 2 || !all, `--hosts ${JSON.stringify(hosts)} planned every host of the group (exit ${r.code}):\n${out}`);
    }
  } finally {
    await c.stop();
    scratch.remove();
  }
});

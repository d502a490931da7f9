// Dry-run diffs of a config rollout ask the agents a bounded number at a time, not every host at once
// (each call carries the host's whole rendered set).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AgentClient } from "../../common/agent-client.js";
import { previewConfigSet } from "../../controller/rollout/config-preview.js";

test("DiffConfig fan-out of a dry run is bounded", async () => {
  let inFlight = 0;
  let max = 0;
  const client = (): AgentClient =>
    ({
      diffConfig: async () => {
        inFlight++;
        max = Math.max(max, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return { files: [] };
      },
    }) as unknown as AgentClient;
  const targets = Array.from({ length: 2000 }, (_, i) => ({ address: `10.0.${i >> 8}.${i & 255}:7601`, name: `h${i}`, files: [{ path: "/etc/x.conf", content: Buffer.from("x") }] }));
  await previewConfigSet(client, 1000, "web", targets);
  assert.ok(max <= 256, `${max} DiffConfig calls were in flight at once`);
});

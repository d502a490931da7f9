// Drift: live hashes against what fleet last installed, pure.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compareDrift } from "../../controller/drift/compare-drift.js";

const desired = (path: string, sha256: string) => ({ path, sha256, rolloutId: 1, updatedAt: 0 });

test("a file differs from what fleet installed: drifted; unknown to fleet: not drifted; removed by fleet and absent: not drifted", () => {
  const r = compareDrift(
    [
      { path: "/a", exists: true, sha256: "111" },
      { path: "/b", exists: true, sha256: "222" },
      { path: "/c", exists: true, sha256: "333" },
      { path: "/d", exists: false, sha256: "" },
      { path: "/e", exists: false, sha256: "" },
    ],
    [desired("/a", "111"), desired("/b", "999"), desired("/d", ""), desired("/e", "555")],
  );
  assert.deepEqual(
    r.map((f) => [f.path, f.drifted, f.liveSha256, f.desiredSha256]),
    [
      ["/a", false, "111", "111"],
      ["/b", true, "222", "999"],
      ["/c", false, "333", ""],
      ["/d", false, "", ""],
      ["/e", true, "", "555"],
    ],
  );
});

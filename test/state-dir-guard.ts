// Preloaded by `npm test` (node --import) into every test file's process (the
// runner runs each file in a child, one at a time): fails the file during which
// the agent's default state_dir on this machine was created or modified.
// See helpers/host-state-dir.ts.
import path from "node:path";
import { describeLeak, snapshotStateDir, stateDirChanges } from "./helpers/host-state-dir.js";

if (process.env.FLEET_TEST_STATE_GUARD !== "off") {
  const before = snapshotStateDir();
  const who = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) : "this test file";
  process.on("exit", () => {
    const changes = stateDirChanges(before, snapshotStateDir());
    if (changes.length === 0) return;
    process.stderr.write(describeLeak(who, changes) + "\n");
    process.exitCode = 1;
  });
}

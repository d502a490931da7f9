// The before/after comparison behind the test and benchmark guard on the
// agent's default state_dir, on a scratch directory standing in for it.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { describeLeak, snapshotStateDir, stateDirChanges } from "../helpers/host-state-dir.js";
import { scratchDir } from "../helpers/scratch-dir.js";

test("absent before and after, or untouched: no change; a directory that appears is named with what is in it", () => {
  const scratch = scratchDir();
  try {
    const root = path.join(scratch.dir, "fleet-agent");
    assert.deepEqual(stateDirChanges(snapshotStateDir(root), snapshotStateDir(root)), []);
    const absent = snapshotStateDir(root);
    mkdirSync(root);
    writeFileSync(path.join(root, "controller-epochs.json"), "{}\n");
    assert.deepEqual(stateDirChanges(absent, snapshotStateDir(root)), [`created ${root}`, `created ${root}/controller-epochs.json`]);
    const present = snapshotStateDir(root);
    assert.deepEqual(stateDirChanges(present, snapshotStateDir(root)), [], "an existing state_dir nobody touches is no failure");
  } finally {
    scratch.remove();
  }
});

test("an existing state_dir: a rewritten file, a new version directory and a removed file are each named", () => {
  const scratch = scratchDir();
  try {
    const root = path.join(scratch.dir, "fleet-agent");
    mkdirSync(path.join(root, "versions"), { recursive: true });
    const epochs = path.join(root, "controller-epochs.json");
    writeFileSync(epochs, "{}\n");
    writeFileSync(path.join(root, "old"), "x");
    // Timestamps in the past: a rewrite within the same clock tick still shows.
    for (const p of [root, path.join(root, "versions"), epochs]) utimesSync(p, 1_000_000, 1_000_000);
    const before = snapshotStateDir(root);
    // Replaced the way the agent writes it: a temp file renamed over the old one, same size.
    writeFileSync(epochs + ".tmp", "{}\n");
    rmSync(epochs);
    writeFileSync(epochs, "{}\n");
    rmSync(epochs + ".tmp");
    mkdirSync(path.join(root, "versions", "web"));
    rmSync(path.join(root, "old"));
    const changes = stateDirChanges(before, snapshotStateDir(root));
    assert.deepEqual(changes.sort(), [`created ${root}/versions/web`, `modified ${root}`, `modified ${epochs}`, `modified ${root}/versions`, `removed ${root}/old`].sort());
    const text = describeLeak("test/x.test.ts", changes);
    assert.match(text, /^test\/x\.test\.ts wrote to the agent's default state_dir \/var\/lib\/fleet-agent on this machine:/);
    assert.match(text, /needs a state_dir in its own scratch directory/);
    assert.match(text, /FLEET_TEST_STATE_GUARD=off/);
  } finally {
    scratch.remove();
  }
});

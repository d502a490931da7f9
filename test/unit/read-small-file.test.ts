import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { after, test } from "node:test";
import { readSmallFile } from "../../common/read-small-file.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const scratch = scratchDir();
after(() => scratch.remove());

test("a small regular file is read whole", () => {
  const f = `${scratch.dir}/token`;
  writeFileSync(f, "secret\n");
  assert.deepEqual(readSmallFile(f, 64), { ok: true, bytes: Buffer.from("secret\n") });
});

test("what is not a small regular file is refused before a byte is read, and never waited on", () => {
  const fifo = `${scratch.dir}/fifo`;
  execFileSync("mkfifo", [fifo]);
  const dir = `${scratch.dir}/dir`;
  mkdirSync(dir);
  const zero = `${scratch.dir}/zero`;
  symlinkSync("/dev/zero", zero);
  const big = `${scratch.dir}/big`;
  writeFileSync(big, Buffer.alloc(65));
  // A FIFO without a writer would block a plain open/read forever: this returns at once.
  assert.deepEqual(readSmallFile(fifo, 64), { ok: false, reason: `${fifo} is not a regular file` });
  assert.deepEqual(readSmallFile(dir, 64), { ok: false, reason: `${dir} is a directory, not a file` });
  assert.deepEqual(readSmallFile(zero, 64), { ok: false, reason: `${zero} is not a regular file` });
  assert.deepEqual(readSmallFile(big, 64), { ok: false, reason: `${big} holds 65 bytes; at most 64 are allowed` });
});

test("a missing file says so and gives the errno code", () => {
  const r = readSmallFile(`${scratch.dir}/none`, 64);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.code, "ENOENT");
  assert.match(!r.ok ? r.reason : "", /does not exist/);
});

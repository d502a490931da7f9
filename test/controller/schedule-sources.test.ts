// A schedule's sources are read by the controller at every run. One replaced
// by a FIFO, a directory or a huge file must not stall the run (a schedule
// never overlaps itself, so a stalled run would silence it for good) nor
// exhaust the controller: the run is skipped at once with a reason naming the
// schedule, the field and what is allowed, and the next run is not blocked.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdirSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import type { ScheduleRun } from "../../controller/history/history-store.js";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const scratch = scratchDir("fleet-sched-src-");
const fifo = path.join(scratch.dir, "fifo.conf");
const big = path.join(scratch.dir, "big.conf");
const dir = path.join(scratch.dir, "dir.conf");
const ok = path.join(scratch.dir, "ok.conf");
let controller: ControllerHarness;

before(async () => {
  execFileSync("mkfifo", [fifo]);
  writeFileSync(big, "");
  truncateSync(big, 5 * 1024 * 1024);
  mkdirSync(dir);
  writeFileSync(ok, "ok\n");
  const schedule = (name: string, config: string) => `  - { name: ${name}, cron: "0 3 * * *", group: one, config: ${config} }\n`;
  const file = writeInventory(scratch.dir, "  one:\n    service: web\n    hosts: [127.0.0.1:1]\n");
  writeFileSync(
    file,
    `${readFileSync(file, "utf8")}schedules:\n` +
      schedule("fifo", `{ source: ${fifo}, path: /etc/x.conf }`) +
      schedule("big", `{ source: ${big}, path: /etc/x.conf }`) +
      schedule("dir", `{ source: ${dir}, path: /etc/x.conf }`) +
      schedule("set", `[{ source: ${ok}, path: /etc/a.conf }, { source: ${fifo}, path: /etc/b.conf }]`),
  );
  controller = await startController(file);
});
after(async () => {
  // Had a read blocked on the FIFO, a writer releases it so the test process can end.
  try {
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    writeSync(fd, "x\n");
    closeSync(fd);
  } catch {
    // nothing waiting
  }
  await controller?.stop();
  scratch.remove();
});

/** One run, bounded: a run that does not decide within 15 s has stalled. */
async function run(name: string): Promise<ScheduleRun> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`schedule ${name}: the run stalled reading its source`)), 15_000)));
  try {
    return await Promise.race([controller.core.schedules.run(name, "manual"), stalled]);
  } finally {
    clearTimeout(timer);
  }
}

const cases: [string, RegExp][] = [
  ["fifo", /^schedule fifo: config\.source: .*fifo\.conf is not a regular file; nothing was started$/],
  ["big", /^schedule big: config\.source: .*big\.conf holds 5242880 bytes; at most 4194304 are allowed; nothing was started$/],
  ["dir", /^schedule dir: config\.source: .*dir\.conf is a directory, not a file; nothing was started$/],
  ["set", /^schedule set: config\[1\]\.source: .*fifo\.conf is not a regular file; nothing was started$/],
];

for (const [name, reason] of cases) {
  test(`a ${name} source skips the run at once, naming the schedule and field; the next run is not blocked`, async () => {
    const first = await run(name);
    assert.equal(first.outcome, "skipped");
    assert.match(first.reason, reason);
    const second = await run(name);
    assert.equal(second.outcome, "skipped");
    assert.doesNotMatch(second.reason, /still running/, "the first run still holds the schedule");
  });
}

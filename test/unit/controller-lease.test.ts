// The history database's lease: the pure verdict, and the lease on a real
// SQLite file (taken, refused, released, lapsed, lost).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { ControllerLease, LeaseHeldError, leaseVerdict, type LeaseHolder } from "../../controller/history/controller-lease.js";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const scratch = scratchDir();
after(() => scratch.remove());

const me = { token: "me", pid: 100, hostname: "ctl1", startedAt: 5000 };
const held = (h: Partial<LeaseHolder>): LeaseHolder => ({ token: "other", pid: 200, hostname: "ctl1", startedAt: 1000, renewedAt: 9000, ...h });
const alive = (pids: number[]) => (pid: number) => pids.includes(pid);

test("verdict: free, ours, lapsed, or its process gone on this host → taken; a live holder → refused, named", () => {
  const now = 10_000;
  assert.deepEqual(leaseVerdict(undefined, me, now, 5000, alive([])), { take: true });
  assert.deepEqual(leaseVerdict(held({ token: "me" }), me, now, 5000, alive([200])), { take: true });
  assert.deepEqual(leaseVerdict(held({ renewedAt: 4000 }), me, now, 5000, alive([200])), { take: true }, "lapsed");
  assert.deepEqual(leaseVerdict(held({}), me, now, 5000, alive([])), { take: true }, "its process is dead (kill -9)");
  assert.deepEqual(leaseVerdict(held({ pid: 100, startedAt: 1000 }), me, now, 5000, alive([100])), { take: true }, "our pid, an earlier process (a container's pid 1)");

  const live = leaseVerdict(held({}), me, now, 5000, alive([200]));
  assert.equal(live.take, false);
  assert.match(!live.take ? live.why : "", /^fleet-controller pid 200 on ctl1 \(started 1970-01-01T00:00:01\.000Z, last seen 1s ago\) is using this history database; one controller per database/);
  const elsewhere = leaseVerdict(held({ hostname: "ctl2" }), me, now, 5000, alive([]));
  assert.equal(elsewhere.take, false, "another host's pid cannot be checked: it waits for the lease to lapse");
  const here = leaseVerdict(held({ pid: 100, startedAt: 5000 }), me, now, 5000, alive([100]));
  assert.match(!here.take ? here.why : "", /^another controller in this process/);
});

test("a lease on a real file: refused while held, free once released; the history opens beside it", () => {
  const file = `${scratch.dir}/taken.db`;
  const noop = () => undefined;
  const a = ControllerLease.take(file, noop, noop);
  const store = new SqliteHistoryStore(file);
  assert.throws(() => ControllerLease.take(file, noop, noop), (err: Error) => err instanceof LeaseHeldError && /taken\.db: another controller in this process .* is using this history database/.test(err.message));
  store.close();
  a.release();
  const b = ControllerLease.take(file, noop, noop);
  b.release();
});

test("a holder that stopped renewing lapses; when it renews again it learns it lost the lease", async () => {
  const file = `${scratch.dir}/lapsed.db`;
  const timing = { renewMs: 30, staleMs: 200 };
  let lost = "";
  const a = ControllerLease.take(file, (why) => (lost = why), () => undefined, timing);
  // A frozen holder on another host, as the second controller sees it: its last renewal long ago.
  const db = new Database(file);
  const freeze = () => db.prepare("UPDATE controller_lease SET hostname = 'frozen-host', renewed_at = ?").run(Date.now() - 1000);
  freeze();
  assert.throws(() => ControllerLease.take(file, () => undefined, () => undefined, { renewMs: 30, staleMs: 5000 }), LeaseHeldError, "not yet lapsed for a longer stale time");
  freeze();
  const b = ControllerLease.take(file, () => undefined, () => undefined, timing);
  await waitFor("the first holder to learn it lost the lease", () => lost, 5000);
  assert.match(lost, new RegExp(`fleet-controller pid ${process.pid} on .* took over the history database`));
  a.release();
  // Released by the loser: the winner's lease is untouched.
  assert.equal((db.prepare("SELECT count(*) AS n FROM controller_lease").get() as { n: number }).n, 1);
  b.release();
  assert.equal((db.prepare("SELECT count(*) AS n FROM controller_lease").get() as { n: number }).n, 0);
  db.close();
});

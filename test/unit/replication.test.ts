// Pure parts of replication and fencing: the replicate: block, the generated
// Litestream config, the replica marker's verdict, the lag tracker, epochs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { compareEpochs, formatEpoch, nextEpoch, parseEpoch } from "../../common/controller-epoch.js";
import { Problems } from "../../common/field-checks.js";
import { fencingHeaders, judgeEpoch } from "../../agent/server/epoch-guard.js";
import { litestreamConfig } from "../../controller/replication/litestream-config.js";
import { markerVerdict } from "../../controller/replication/replica-marker.js";
import { parseReplicateConfig } from "../../controller/replication/replicate-config.js";
import { ReplicationLag, type LagSample } from "../../controller/replication/replication-lag.js";

const DB = "/var/lib/fleet/history.db";
function replicate(raw: unknown) {
  const p = new Problems();
  const value = parseReplicateConfig(raw, DB, p);
  return { value, problems: p.list.map((x) => `${x.path.join(".")}: ${x.message}`) };
}

test("replicate: paths, file:// and object-storage URLs; sync_interval with a unit; every mistake named", () => {
  assert.deepEqual(replicate({ to: "/mnt/replica/fleet" }).value, { to: "/mnt/replica/fleet", dir: "/mnt/replica/fleet", url: "/mnt/replica/fleet", syncIntervalMs: 1000 });
  assert.deepEqual(replicate({ to: "file:///mnt/r", sync_interval: "250ms" }).value, { to: "file:///mnt/r", dir: "/mnt/r", url: "/mnt/r", syncIntervalMs: 250 });
  assert.deepEqual(replicate({ to: "s3://bucket/fleet", sync_interval: "10s" }).value, { to: "s3://bucket/fleet", url: "s3://bucket/fleet", syncIntervalMs: 10_000 });
  const cases: [unknown, RegExp][] = [
    [{ to: "relative/dir" }, /replicate.to: must be an absolute directory or a URL/],
    [{ to: "/mnt/../etc" }, /replicate.to: must be a normalized absolute directory/],
    [{ to: "/" }, /replicate.to: must be a normalized absolute directory other than \//],
    [{ to: "http://x/y" }, /replicate.to: must be an absolute directory or a URL \(file:\/\/, s3:\/\//],
    [{ to: "s3://" }, /names no bucket/],
    [{ to: "file://relative" }, /a file:\/\/ URL needs an absolute path/],
    [{ to: "/var/lib/fleet" }, /holds the database itself/],
    [{ to: "/mnt/r", sync_interval: 1 }, /replicate.sync_interval: 1 has no unit: did you mean 1s\?/],
    [{ to: "/mnt/r", sync_interval: "10ms" }, /replicate.sync_interval: must be at least 100ms/],
    [{ to: "/mnt/r", every: "1s" }, /replicate.every: unknown field; allowed: to, sync_interval/],
    [{}, /replicate.to: must be a non-empty string/],
    ["/mnt/r", /replicate: must be a mapping/],
  ];
  for (const [raw, expected] of cases) {
    const r = replicate(raw);
    assert.match(r.problems.join("\n"), expected, JSON.stringify(raw));
  }
});

test("the generated Litestream config: one database, one replica, loopback metrics; values cannot break out of their field", () => {
  const cfg = parse(litestreamConfig(DB, { to: "/mnt/a: b\n- x", dir: "/mnt/a: b\n- x", url: "/mnt/a: b\n- x", syncIntervalMs: 1500 }, 9999));
  assert.deepEqual(cfg, { addr: "127.0.0.1:9999", dbs: [{ path: DB, replicas: [{ type: "file", path: "/mnt/a: b\n- x", "sync-interval": "1500ms" }] }] });
  assert.deepEqual(parse(litestreamConfig(DB, { to: "s3://b/p", url: "s3://b/p", syncIntervalMs: 1000 }, 1)).dbs[0].replicas, [{ url: "s3://b/p", "sync-interval": "1000ms" }]);
});

test("marker verdict: empty ok, same database ok, another database or a newer epoch refused, foreign files refused", () => {
  const me = { databaseId: "aaaa1111", epoch: { takeover: 0, start: 3 } };
  const m = (database_id: string, epoch: string) => ({ database_id, epoch, host: "h1", db: DB, updated_at: "" });
  assert.deepEqual(markerVerdict("/r", undefined, [], me), { ok: true });
  assert.deepEqual(markerVerdict("/r", m("aaaa1111", "0.2"), ["generations"], me), { ok: true });
  assert.deepEqual(markerVerdict("/r", m("aaaa1111", "0.3"), ["generations"], me), { ok: true });
  const other = markerVerdict("/r", m("bbbb2222", "0.1"), ["generations"], me);
  assert.ok(!other.ok && /replica of another database \(bbbb2222, written from h1 .*this controller's database is aaaa1111/.test(other.why), JSON.stringify(other));
  const newer = markerVerdict("/r", m("aaaa1111", "1.1"), ["generations"], me);
  assert.ok(!newer.ok && /newer controller of this database \(epoch 1\.1.*at epoch 0\.3: it is a stale copy/.test(newer.why), JSON.stringify(newer));
  const foreign = markerVerdict("/r", undefined, ["a", "b", "c", "d"], me);
  assert.ok(!foreign.ok && /not empty \(a, b, c, \.\.\.\)/.test(foreign.why));
});

test("epochs: a takeover outranks any number of restarts of the copy it replaced", () => {
  let old = { takeover: 0, start: 1 };
  const standby = nextEpoch(old, true);
  assert.deepEqual(standby, { takeover: 1, start: 1 });
  for (let i = 0; i < 1000; i++) old = nextEpoch(old, false);
  assert.ok(compareEpochs(old, standby) < 0, `${formatEpoch(old)} < ${formatEpoch(standby)}`);
  assert.deepEqual(parseEpoch("12.345"), { takeover: 12, start: 345 });
  for (const bad of ["", "1", "1.", ".1", "1.2.3", "-1.2", "1.2 ", "a.b", "1".repeat(16) + ".1"]) assert.equal(parseEpoch(bad), undefined, bad);
});

test("the agent's judgement: record newer, accept equal, refuse older naming both epochs; headers together or not at all", () => {
  const seen = { takeover: 1, start: 1 };
  assert.deepEqual(judgeEpoch("c1", { takeover: 0, start: 9 }, undefined), { act: "record" });
  assert.deepEqual(judgeEpoch("c1", { takeover: 1, start: 2 }, seen), { act: "record" });
  assert.deepEqual(judgeEpoch("c1", { takeover: 1, start: 1 }, seen), { act: "accept" });
  const r = judgeEpoch("c1", { takeover: 0, start: 9 }, seen);
  assert.ok(r.act === "refuse" && /controller c1 at epoch 0\.9 is fenced: this agent has accepted epoch 1\.1 from controller c1/.test(r.message));
  const h = (id?: string, epoch?: string) => fencingHeaders((k) => (k === "id" ? id : epoch));
  assert.equal(h(), undefined);
  assert.deepEqual(h("c1", "1.2"), { id: "c1", epoch: { takeover: 1, start: 2 } });
  assert.throws(() => h("c1"), /come together or not at all/);
  assert.throws(() => h(undefined, "1.1"), /come together or not at all/);
  assert.throws(() => h("../x", "1.1"), /x-fleet-controller-id must be/);
  assert.throws(() => h("c1", "9"), /x-fleet-epoch must be TAKEOVER.START/);
});

test("lag: the age of the oldest write the replica is not known to hold; 0 once it holds everything", () => {
  const lag = new ReplicationLag();
  const s = (syncs: number, shadow: [number, number], replica: [number, number], generation = "g1"): LagSample => ({ syncs, generation, shadowIndex: shadow[0], shadowOffset: shadow[1], replicaIndex: replica[0], replicaOffset: replica[1] });
  assert.equal(lag.lagSeconds(0), 0);
  lag.noteWrite(1000);
  lag.observe(1100, s(10, [0, 100], [0, 100])); // baseline after the write
  assert.equal(lag.lagSeconds(2000), 1);
  lag.observe(2100, s(11, [0, 200], [0, 100])); // one sync ended: it may have started before the baseline
  lag.observe(3100, s(12, [0, 200], [0, 100])); // two: the shadow WAL holds the write at 0:200
  assert.equal(lag.lagSeconds(3100), 2.1);
  lag.noteWrite(3500); // a later write, after the baseline
  lag.observe(4100, s(13, [0, 300], [0, 200])); // the replica reached 0:200: the first write is safe
  assert.equal(lag.lagSeconds(4100), 0.6, "only the later write is outstanding");
  assert.equal(lag.lastConfirmedAt, 4100);
  lag.observe(5100, s(14, [0, 300], [0, 200]));
  lag.observe(6100, s(15, [1, 50], [0, 300]));
  lag.observe(7100, s(16, [1, 50], [1, 50]));
  assert.equal(lag.lagSeconds(7100), 0);

  // Litestream down: its counters stop (or restart from 0) and the lag keeps growing until it catches up.
  lag.noteWrite(8000);
  for (let t = 9000; t <= 60_000; t += 1000) lag.observe(t, s(2, [0, 10], [0, 0], "g2"));
  assert.equal(lag.lagSeconds(60_000), 52);
  lag.observe(61_000, s(3, [0, 10], [0, 0], "g2"));
  lag.observe(62_000, s(4, [0, 20], [0, 0], "g2"));
  lag.observe(63_000, s(5, [0, 20], [0, 20], "g2"));
  assert.equal(lag.lagSeconds(63_000), 0);
});

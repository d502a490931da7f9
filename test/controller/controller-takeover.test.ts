// Losing the controller's machine loses nothing. Two controller "hosts" — each
// the real fleet-controller daemon as PID 1 of its own PID namespace, with its
// own database directory — share a replica directory (standing in for another
// disk or object storage). Five real agents (gRPC on loopback) in front of
// five real web services that count their SIGHUPs.
//   1. The first host replicates, runs a rollout and is powered off mid-rollout
//      (SIGKILL of its namespace: the controller and its Litestream die at
//      once). The second restores with --restore-from and `fleet resume`
//      finishes the rollout: every service reloaded exactly once; the restored
//      history holds every row the first recorded up to the sync interval.
//   2. The first host comes back with its old database: with its replicate
//      config it refuses to start (a newer controller writes the replica);
//      without it, it serves, and every agent refuses its mutating calls with
//      the epoch message — nothing is reloaded.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { processesWith, startControllerHost, type ControllerHost } from "../helpers/controller-host.js";
import { startLocalFleet } from "../helpers/local-fleet.js";
import { FLEET_BIN, runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const scratch = scratchDir("takeover-");
const replica = path.join(scratch.dir, "replica");
const SYNC_MS = 1000;
let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
const running: ControllerHost[] = [];

function inventory(name: string, replicate: boolean): string {
  const dir = path.join(scratch.dir, name);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, replicate ? "fleet.yaml" : "fleet-no-replica.yaml");
  writeFileSync(
    file,
    `controller: { listen: "unix:${dir}/controller.sock", db: ${dir}/db/history.db }
agents: { deadline: 3s, reload_deadline: 20s }
${replicate ? `replicate: { to: ${replica}, sync_interval: ${SYNC_MS}ms }\n` : ""}groups:
  web:
    service: web
    hosts: [${fleet.hosts.map((h) => h.address).join(", ")}]
    policy: { canary: 1, batch: 1, pause: 2s }
`,
  );
  return file;
}

async function host(args: string[], options: { expectExit?: boolean } = {}): Promise<ControllerHost> {
  const h = await startControllerHost(args, options);
  running.push(h);
  return h;
}

const cli = (name: string) => ({ FLEET_CONTROLLER: `unix:${path.join(scratch.dir, name)}/controller.sock` });
const reloads = () => Promise.all(fleet.hosts.map((h) => h.reloads()));

type Row = Record<string, unknown>;
function rows(db: string, sql: string): Row[] {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return d.prepare(sql).all() as Row[];
  } finally {
    d.close();
  }
}

before(async () => {
  fleet = await startLocalFleet(scratch.dir, 5, "t");
});
after(async () => {
  for (const h of running) await h.powerOff();
  await fleet?.stop();
  scratch.remove();
});

let rolloutId = "";
let counts: number[] = [];

test("power off mid-rollout; the standby restores, resumes, and every service is reloaded exactly once", async () => {
  const before = await reloads();
  const first = await host(["--config", inventory("c1", true)]);
  assert.match(first.output(), /"msg":"controller epoch","controller":"[^"]+","epoch":"0\.1"/);

  // Follow the rollout with the CLI; power the first host off as batch 3 (the fourth host) starts.
  let killedAt = 0;
  const follow = spawn(FLEET_BIN, ["reload", "web", "--yes"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...cli("c1") } });
  let out = "";
  follow.stdout.on("data", (d) => {
    out += d;
    if (!killedAt && /batch: batch 3:/.test(out)) {
      killedAt = Date.now();
      void first.powerOff();
    }
  });
  assert.equal(await new Promise((r) => follow.on("exit", r)), 3, `the CLI reports the controller unreachable: ${out}`);
  await first.exited;
  assert.ok(killedAt, out);
  rolloutId = /rollout (\d+)/.exec(out)![1]!;
  assert.deepEqual(processesWith(path.join(scratch.dir, "c1/db/.history.db.litestream.yml")), [], "its Litestream died with it");

  // What the first host had recorded when it went down (its files, read from a copy).
  const c1 = path.join(scratch.dir, "c1-at-power-off");
  mkdirSync(c1);
  for (const f of ["history.db", "history.db-wal"]) copyFileSync(path.join(scratch.dir, "c1/db", f), path.join(c1, f));
  const c1db = path.join(c1, "history.db");

  // The standby: no database of its own yet; takes over from the replica.
  const second = await host(["--restore-from", replica, "--config", inventory("c2", true)]);
  assert.match(second.output(), /"msg":"controller took over from a replica","controller":"[^"]+","epoch":"1\.1","previous":"0\.1"/);
  const status = JSON.parse((await runFleet(["controller", "status", "--json"], cli("c2"))).stdout);
  assert.equal(status.epoch, "1.1");
  assert.equal(status.replication.to, replica);

  // History: every row the first recorded at least the sync interval (plus Litestream's 1 s WAL poll and 1 s slack) before the power cut.
  const cutoff = killedAt - SYNC_MS - 2000;
  const c2db = path.join(scratch.dir, "c2/db/history.db");
  const oldSteps = rows(c1db, `SELECT rollout_id, host, status, outcome, finished_at FROM steps WHERE finished_at <= ${cutoff} ORDER BY position`);
  const oldEvents = rows(c1db, `SELECT id, kind, host, message, at FROM events WHERE at <= ${cutoff} ORDER BY id`);
  assert.ok(oldSteps.length >= 2, `the test must compare finished steps (${oldSteps.length} before the cutoff)`);
  const newSteps = rows(c2db, "SELECT rollout_id, host, status, outcome, finished_at FROM steps ORDER BY position");
  const newEvents = rows(c2db, "SELECT id, kind, host, message, at FROM events ORDER BY id");
  for (const s of oldSteps) assert.ok(newSteps.some((n) => JSON.stringify(n) === JSON.stringify(s)), `restored history lacks step ${JSON.stringify(s)}`);
  for (const e of oldEvents) assert.ok(newEvents.some((n) => JSON.stringify(n) === JSON.stringify(e)), `restored history lacks event ${JSON.stringify(e)}`);

  const shown = JSON.parse((await runFleet(["show", rolloutId, "--json"], cli("c2"))).stdout);
  assert.equal(shown.rollout.state, "interrupted", "the running rollout became interrupted");

  const resumed = await runFleet(["resume", rolloutId], cli("c2"));
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  counts = await reloads();
  assert.deepEqual(counts.map((n, i) => n - before[i]!), [1, 1, 1, 1, 1], "each service received exactly one reload");
  const final = JSON.parse((await runFleet(["show", rolloutId, "--json"], cli("c2"))).stdout);
  assert.equal(final.rollout.state, "succeeded");
  assert.deepEqual(final.steps.map((s: { outcome: string }) => s.outcome), Array(5).fill("reloaded"));
});

test("the first controller back with its old database is fenced: it refuses to replicate, and agents refuse its calls", async () => {
  assert.ok(rolloutId, "needs the takeover above");
  // With its own config: the replica is written by a newer controller of the same database.
  const refused = await host(["--config", inventory("c1", true)], { expectExit: true });
  assert.notEqual(await refused.exited, 0);
  assert.match(refused.output(), /written by a newer controller of this database \(epoch 1\.1.*this controller is at epoch 0\.2: it is a stale copy/s);
  assert.deepEqual(processesWith(path.join(scratch.dir, "c1/db/.history.db.litestream.yml")), [], "no Litestream left behind");

  // Without replication (the replica unreachable, or the operator removed it): it serves, at epoch 0.3.
  const stale = await host(["--config", inventory("c1", false)]);
  assert.match(stale.output(), /"epoch":"0\.3"/);
  const r = await runFleet(["reload", "web", "--yes", "--canary", "0", "--batch", "100%", "--max-failures", "4"], cli("c1"));
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const id = /rollout (\d+)/.exec(r.stdout)![1]!;
  const shown = JSON.parse((await runFleet(["show", id, "--json"], cli("c1"))).stdout);
  assert.equal(shown.steps.length, 5);
  for (const s of shown.steps) {
    assert.equal(s.outcome, "failed", JSON.stringify(s));
    assert.match(s.reason, /epoch 0\.3 is fenced: this agent has accepted epoch 1\.1/);
  }
  // The old interrupted rollout cannot be finished by it either.
  const resumed = await runFleet(["resume", rolloutId], cli("c1"));
  assert.notEqual(resumed.code, 0, resumed.stdout);
  assert.deepEqual(await reloads(), counts, "nothing was reloaded");
  assert.match(stale.output(), /this controller is fenced: an agent has seen a newer epoch of it/, "its start-up announcement was refused too");

  // The fence is on disk in every agent's state_dir.
  for (const h of fleet.hosts) {
    const file = path.join(scratch.dir, `${h.name}-state/controller-epochs.json`);
    assert.ok(existsSync(file), file);
    const seen = Object.values(JSON.parse(readFileSync(file, "utf8")).controllers) as { epoch: string }[];
    assert.deepEqual(seen.map((s) => s.epoch), ["1.1"]);
  }
});

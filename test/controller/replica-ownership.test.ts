// Replication refuses a replica it does not own, and a takeover refuses what it
// cannot do cleanly — each against the real daemon and the real Litestream.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { startControllerDaemon } from "../helpers/controller-daemon.js";
import { processesWith, startControllerHost } from "../helpers/controller-host.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const scratch = scratchDir("replica-owner-");
after(() => scratch.remove());

function config(name: string, to: string | undefined): string {
  const dir = path.join(scratch.dir, name);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "fleet.yaml");
  writeFileSync(file, `controller: { listen: "unix:${dir}/controller.sock", db: ${dir}/db/history.db }\n${to ? `replicate: { to: ${to}, sync_interval: 500ms }\n` : ""}groups:\n  web: { service: web, hosts: ["127.0.0.1:1"] }\n`);
  return file;
}

const generations = (replica: string) => (existsSync(path.join(replica, "generations")) ? readdirSync(path.join(replica, "generations")).sort() : []);

test("replicating onto the replica of another database is refused, and nothing is written to it", async () => {
  const replica = path.join(scratch.dir, "shared-replica");
  const a = await startControllerDaemon(config("a", replica));
  let aId: string;
  try {
    aId = JSON.parse((await runFleet(["--controller", `unix:${scratch.dir}/a/controller.sock`, "controller", "status", "--json"])).stdout).controllerId;
    await waitFor("a's first generation in the replica", () => generations(replica).length === 1, 20_000);
  } finally {
    await a.stop();
  }
  const marker = readFileSync(path.join(replica, "fleet-replica.json"), "utf8");
  assert.equal(JSON.parse(marker).database_id, aId);
  const before = generations(replica);

  // b: a new database of its own, pointed at a's replica.
  const b = await startControllerDaemon(config("b", replica), { waitListening: false });
  assert.equal(await b.exited, 1, b.output());
  assert.match(b.output(), new RegExp(`replicate.to ${replica} is the replica of another database \\(${aId}, .*this controller's database is [0-9a-f]{8}\\. Refusing to replicate onto it`));
  assert.equal(readFileSync(path.join(replica, "fleet-replica.json"), "utf8"), marker, "the marker is untouched");
  assert.deepEqual(generations(replica), before, "no generation of b's was written");
  assert.deepEqual(processesWith(path.join(scratch.dir, "b/db/.history.db.litestream.yml")), [], "no Litestream was started");
});

test("a directory that holds something else is refused; an unreadable marker too", async () => {
  const other = path.join(scratch.dir, "not-a-replica");
  mkdirSync(other);
  writeFileSync(path.join(other, "important.txt"), "keep me");
  const c = await startControllerDaemon(config("c", other), { waitListening: false });
  assert.equal(await c.exited, 1);
  assert.match(c.output(), /is not empty \(important.txt\) and has no fleet-replica.json: it is not known to be this database's replica/);

  const broken = path.join(scratch.dir, "broken-marker");
  mkdirSync(broken);
  writeFileSync(path.join(broken, "fleet-replica.json"), "{not json");
  const d = await startControllerDaemon(config("d", broken), { waitListening: false });
  assert.equal(await d.exited, 1);
  assert.match(d.output(), /fleet-replica.json cannot be read .*refusing to replicate onto a replica fleet cannot identify/);
});

test("--restore-from refuses to overwrite a database, and an empty replica restores nothing", async () => {
  const file = config("e", undefined);
  const e = await startControllerDaemon(file);
  await e.stop();
  const replica = path.join(scratch.dir, "shared-replica");
  const refused = await startControllerHost(["--restore-from", replica, "--config", file], { expectExit: true });
  assert.equal(await refused.exited, 2);
  assert.match(refused.output(), /history.db already exists \(controller.db\); --restore-from would replace this controller's history\. Move it away, or add --force/);

  const empty = path.join(scratch.dir, "empty-replica");
  mkdirSync(empty);
  const nothing = await startControllerHost(["--restore-from", empty, "--config", config("f", undefined)], { expectExit: true });
  assert.equal(await nothing.exited, 2);
  assert.match(nothing.output(), /litestream could not restore .*no matching backups found/);
  assert.deepEqual(readdirSync(path.join(scratch.dir, "f/db")), [], "nothing half-written");

  // --force keeps the old database aside and takes over.
  const forced = await startControllerHost(["--restore-from", replica, "--force", "--config", file]);
  try {
    assert.match(forced.output(), /"msg":"controller took over from a replica".*"epoch":"1\.1"/);
    assert.ok(readdirSync(path.join(scratch.dir, "e/db")).some((n) => /^history\.db\.replaced-/.test(n)), "the replaced database is kept");
  } finally {
    await forced.stop();
  }
});

// Litestream under the controller's supervision, with the real binary: killed,
// it is restarted (logged, counted); its lag is in `fleet controller status`
// and on /metrics; a Litestream a kill -9'd controller left behind is stopped
// by the next start (never two on one database); and a child that ignores
// SIGTERM is killed, with its whole group, at the stop deadline.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import { freePort } from "../../common/free-port.js";
import { LitestreamSupervisor } from "../../controller/replication/litestream-supervisor.js";
import { startControllerDaemon } from "../helpers/controller-daemon.js";
import { processesWith } from "../helpers/controller-host.js";
import { runFleet } from "../helpers/run-cli.js";
import { metricsParserMissing, scrapeMetrics } from "../helpers/scrape-metrics.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const scratch = scratchDir("litestream-sup-");
after(() => scratch.remove());

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("killed Litestream is restarted; lag in status and metrics; a leftover from a killed controller is stopped at the next start", async (t) => {
  const port = await freePort();
  const dir = path.join(scratch.dir, "c");
  mkdirSync(dir);
  const file = path.join(dir, "fleet.yaml");
  writeFileSync(file, `controller: { listen: "unix:${dir}/controller.sock", db: ${dir}/db/history.db }\nreplicate: { to: ${scratch.dir}/replica, sync_interval: 200ms }\nmetrics: { listen: 127.0.0.1:${port}, agent_check: 0s }\ngroups:\n  web: { service: web, hosts: ["127.0.0.1:1"] }\n`);
  const env = { FLEET_CONTROLLER: `unix:${dir}/controller.sock` };
  const status = async () => JSON.parse((await runFleet(["controller", "status", "--json"], env)).stdout);
  const config = path.join(dir, "db/.history.db.litestream.yml");

  const daemon = await startControllerDaemon(file);
  try {
    const first = await waitFor("litestream running with its positions", async () => {
      const s = await status();
      return s.replication.litestreamState === "running" && !s.replication.sampleError && s.replication.lagSeconds === 0 ? s : undefined;
    }, 30_000, 250);
    const human = await runFleet(["controller", "status"], env);
    assert.equal(human.code, 0, human.stdout + human.stderr);
    assert.match(human.stdout, /litestream running \(pid \d+\), 0 restarts\nlag {8}0\.0s; replica complete as of 20/);

    process.kill(first.replication.litestreamPid, "SIGKILL");
    const down = await waitFor("the status to show it restarting", async () => ((await status()).replication.litestreamState !== "running" ? true : undefined), 10_000, 50).catch(() => false);
    if (down) {
      const r = await runFleet(["controller", "status"], env);
      if ((await status()).replication.litestreamState !== "running") assert.equal(r.code, 1, "exit 1 while replication is not running");
    }
    const again = await waitFor("litestream restarted", async () => {
      const s = await status();
      return s.replication.litestreamState === "running" && s.replication.restarts === 1 ? s : undefined;
    }, 30_000, 250);
    assert.notEqual(again.replication.litestreamPid, first.replication.litestreamPid);
    assert.match(daemon.output(), /"msg":"litestream stopped; replication is paused until it runs again","why":"exited \(killed by SIGKILL\)"/);

    if (metricsParserMissing()) t.diagnostic(`metrics not parsed: ${metricsParserMissing()}`);
    else {
      const m = await waitFor("metrics with replication up", async () => {
        const s = await scrapeMetrics(`127.0.0.1:${port}`);
        return s.value("fleet_replication_up") === 1 ? s : undefined;
      }, 30_000, 250);
      assert.equal(m.family("fleet_replication_lag_seconds").type, "gauge");
      assert.equal(m.value("fleet_replication_restarts"), 1);
    }

    // kill -9 of the controller alone: its Litestream (its own process group) is left running...
    daemon.child.kill("SIGKILL");
    await daemon.exited;
    const [leftover] = processesWith(config);
    assert.ok(leftover && alive(leftover), "litestream outlived the controller");
    // ...and the next start stops it before starting its own.
    const next = await startControllerDaemon(file);
    try {
      assert.match(next.output(), new RegExp(`"msg":"stopping a litestream left running by a previous controller","pid":${leftover}`));
      await waitFor("the leftover to be gone", () => !alive(leftover), 10_000);
      await waitFor("exactly one litestream for this database", () => processesWith(config).length === 1, 10_000);
    } finally {
      await next.stop();
    }
    assert.deepEqual(processesWith(config), [], "an orderly stop stops Litestream too");
  } finally {
    await daemon.stop();
  }
});

test("a child that ignores SIGTERM is killed with its whole group at the stop deadline; one that keeps dying is restarted with backoff", async () => {
  const stubborn = path.join(scratch.dir, "stubborn.sh");
  writeFileSync(stubborn, `#!/bin/sh\ntrap "" TERM\nsleep 300 &\necho "level=INFO msg=started"\nwait\n`);
  chmodSync(stubborn, 0o755);
  const sup = new LitestreamSupervisor({ binary: stubborn, prepare: async () => ({ args: [] }), pidFile: path.join(scratch.dir, "stubborn.pid"), logger: silentLogger });
  await sup.start();
  const pid = sup.status().pid;
  await waitFor("the sleep child", () => processesWith("sleep\u0000300").length > 0, 5000);
  const t0 = Date.now();
  await sup.stop(500);
  assert.ok(Date.now() - t0 < 10_000, "stop() is bounded by its deadline");
  assert.equal(alive(pid), false);
  await waitFor("the whole group gone", () => processesWith("sleep\u0000300").length === 0, 5000);

  const dying = path.join(scratch.dir, "dying.sh");
  writeFileSync(dying, `#!/bin/sh\necho "level=ERROR msg=boom"\nexit 3\n`);
  chmodSync(dying, 0o755);
  const lines: string[] = [];
  const logger = { ...silentLogger, error: (msg: string, f?: Record<string, unknown>) => void lines.push(`${msg} ${JSON.stringify(f)}`) } as typeof silentLogger;
  const sup2 = new LitestreamSupervisor({ binary: dying, prepare: async () => ({ args: [] }), pidFile: path.join(scratch.dir, "dying.pid"), logger, backoffMs: { first: 50, max: 200 } });
  await sup2.start();
  await waitFor("three restarts", () => sup2.status().restarts >= 3, 10_000);
  await sup2.stop(500);
  const waits = lines.filter((l) => l.startsWith("litestream stopped")).map((l) => Number(/"restart_in_ms":(\d+)/.exec(l)![1]));
  assert.deepEqual(waits.slice(0, 3), [50, 100, 200], "backoff doubles up to its maximum");
  assert.ok(lines.some((l) => /"why":"exited \(exit code 3\)"/.test(l)));
  assert.equal(sup2.status().state, "stopped");
});

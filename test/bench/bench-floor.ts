// Floor ratio: N real nginx instances (own prefixes, loopback ports), each under
// a real agent. (a) `fleet reload` through the controller in batches of B with
// full verification; (b) the floor: the same signals and checks done locally
// with no transport or orchestration (HUP each master of a batch, wait for a
// new worker generation, probe once). Both judge health by one probe round
// after the new generation (healthy_for 0). A second floor also waits, as
// fleet's evidence does, until the old workers stopped listening: nginx's
// master sleeps 100ms after starting new workers before it retires the old.
import path from "node:path";
import { childrenOf, socketInodes } from "../../agent/process/proc-fs.js";
import { silentLogger } from "../../common/logger.js";
import { ControllerCore } from "../../controller/controller-core.js";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";
import { INVENTORY_DEFAULTS } from "../../controller/inventory/inventory.js";
import { DEFAULT_POLICY } from "../../controller/rollout/rollout-policy.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { NGINX, startNginx, type Nginx } from "../helpers/nginx.js";
import { scratchDir } from "../helpers/scratch-dir.js";

export async function benchFloor(n = 20, batch = 5, runs = 5, withCheck = process.env.BENCH_FLOOR_CHECK === "1") {
  const scratch = scratchDir("fleet-bench-floor-");
  const hosts: { nginx: Nginx; agent: AgentHarness }[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const nginx = await startNginx(path.join(scratch.dir, `n${i}`));
      const agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
limits: { mutations_per_second: 100000 }
services:
  nginx:
    reload: { signal: HUP, pidfile: ${nginx.pidfile} }
${withCheck ? `    check: [${NGINX}, -t, -q, -p, "${path.dirname(nginx.conf)}/", -e, ${nginx.errorLog}, -c, "{path}"]\n` : ""}    reject_markers: { log: ${nginx.errorLog}, pattern: "\\\\[emerg\\\\]" }
    generation: workers
    healthy_for: 0ms
    probe_interval: 20ms
    health: [{ http: "http://127.0.0.1:${nginx.port}/healthz" }]
    configs: [{ path: ${nginx.conf} }]
`);
      hosts.push({ nginx, agent });
    }
    const db = path.join(scratch.dir, "history.db");
    const core = new ControllerCore(
      {
        controller: { listen: "unix:/nonexistent", db },
        agents: { access: { mode: "insecure" }, deadlineMs: INVENTORY_DEFAULTS.deadlineMs, reloadDeadlineMs: 60_000 },
        groups: new Map([["web", { name: "web", service: "nginx", hosts: hosts.map((h) => h.agent.address), canary: [], policy: DEFAULT_POLICY }]]),
        schedules: [],
      },
      new SqliteHistoryStore(db),
      silentLogger,
    );
    await core.groupStatus("web"); // connect every channel first
    const fleet: number[] = [];
    const floor: number[] = [];
    const floorRetired: number[] = [];
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      const started = core.startReload({ group: "web", policy: { canary: "0", batch: String(batch) }, hosts: [], reason: "bench", caller: { user: "bench", host: "bench" }, peer: "bench", allowRestart: false }, () => undefined);
      const final = await started.done;
      if (final.state !== "succeeded") throw new Error(`bench rollout ${final.state}: ${final.summary}`);
      fleet.push(performance.now() - t);
      await settle();

      t = performance.now();
      for (let i = 0; i < n; i += batch) await Promise.all(hosts.slice(i, i + batch).map((h) => floorReload(h.nginx, false)));
      floor.push(performance.now() - t);
      await settle();

      t = performance.now();
      for (let i = 0; i < n; i += batch) await Promise.all(hosts.slice(i, i + batch).map((h) => floorReload(h.nginx, true)));
      floorRetired.push(performance.now() - t);
      await settle();
    }
    core.close();
    core.history.close();
    const stats = (xs: number[]) => ({ medianMs: Math.round(median(xs)), minMs: Math.round(Math.min(...xs)), maxMs: Math.round(Math.max(...xs)) });
    const ratios = fleet.map((f, i) => f / floor[i]!);
    const ratiosRetired = fleet.map((f, i) => f / floorRetired[i]!);
    const ratioStats = (xs: number[]) => ({ median: +median(xs).toFixed(2), min: +Math.min(...xs).toFixed(2), max: +Math.max(...xs).toFixed(2) });
    return {
      withCheck,
      hosts: n,
      batch,
      runs,
      fleet: stats(fleet),
      floor: stats(floor),
      ratio: ratioStats(ratios),
      floorOldWorkersRetired: stats(floorRetired),
      ratioOldWorkersRetired: ratioStats(ratiosRetired),
    };
  } finally {
    for (const h of hosts) {
      await h.agent.stop();
      await h.nginx.stop();
    }
    scratch.remove();
  }
}

/** The floor for one host: HUP the master, wait for a new worker (and, if asked, for the old ones to stop listening), probe once. */
async function floorReload(nginx: Nginx, untilRetired: boolean) {
  const master = nginx.masterPid();
  const before = new Set(await childrenOf(master));
  const listeners = await socketInodes(master);
  process.kill(master, "SIGHUP");
  for (;;) {
    const now = await childrenOf(master);
    if (now.some((p) => !before.has(p))) {
      if (!untilRetired) break;
      const old = now.filter((p) => before.has(p));
      const listening = await Promise.all(old.map(async (p) => [...(await socketInodes(p))].some((i) => listeners.has(i))));
      if (!listening.some(Boolean)) break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const res = await fetch(`http://127.0.0.1:${nginx.port}/healthz`, { headers: { connection: "close" } });
  await res.text();
  if (res.status !== 200) throw new Error(`floor probe ${res.status}`);
}

/** Lets old workers finish exiting so one run does not overlap the next. */
const settle = () => new Promise((r) => setTimeout(r, 300));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

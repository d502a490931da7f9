// Floor ratio: N real nginx instances (own prefixes, loopback ports), each under
// a real agent. (a) `fleet reload` through the controller in batches of B with
// full verification; (b) the floor: the same signals and checks done locally
// with no transport or orchestration (HUP each master of a batch, wait for a
// new worker generation, probe once). Both judge health by one probe round
// after the new generation (healthy_for 0). A second floor also waits, as
// fleet's evidence does, until the old workers stopped listening: nginx's
// master sleeps 100ms after starting new workers before it retires the old.
import path from "node:path";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { NGINX, startNginx, type Nginx } from "../helpers/nginx.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { benchController, floorReload, ratioStats, rollingReload, settle, timeStats } from "./bench-support.js";

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
    health: [{ http: "http://127.0.0.1:${nginx.port}/healthz" }]
    configs: [{ path: ${nginx.conf} }]
`);
      hosts.push({ nginx, agent });
    }
    const core = benchController("web", "nginx", hosts.map((h) => h.agent.address), path.join(scratch.dir, "history.db"));
    await core.groupStatus("web"); // connect every channel first
    const fleet: number[] = [];
    const floor: number[] = [];
    const floorRetired: number[] = [];
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      await rollingReload(core, "web", batch);
      fleet.push(performance.now() - t);
      await settle();

      t = performance.now();
      for (let i = 0; i < n; i += batch) await Promise.all(hosts.slice(i, i + batch).map((h) => floorReload(h.nginx.pidfile, `http://127.0.0.1:${h.nginx.port}/healthz`, false)));
      floor.push(performance.now() - t);
      await settle();

      t = performance.now();
      for (let i = 0; i < n; i += batch) await Promise.all(hosts.slice(i, i + batch).map((h) => floorReload(h.nginx.pidfile, `http://127.0.0.1:${h.nginx.port}/healthz`, true)));
      floorRetired.push(performance.now() - t);
      await settle();
    }
    await core.shutdown();
    return {
      withCheck,
      hosts: n,
      batch,
      runs,
      fleet: timeStats(fleet),
      floor: timeStats(floor),
      ratio: ratioStats(fleet, floor),
      floorOldWorkersRetired: timeStats(floorRetired),
      ratioOldWorkersRetired: ratioStats(fleet, floorRetired),
    };
  } finally {
    for (const h of hosts) {
      await h.agent.stop();
      await h.nginx.stop();
    }
    scratch.remove();
  }
}

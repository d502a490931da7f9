// What one reload costs beyond the floor, with nothing else competing: one
// nginx under one real agent process. Interleaved, `runs` times each: (a) the
// floor (HUP, new workers, old ones stopped listening, one probe); (b) the
// agent's Reload called directly (its own measured total, and the call as the
// caller sees it); (c) a whole one-host rollout through the controller core
// (preflight, history, the call).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { createAgentClient } from "../../common/agent-client.js";
import { spawnAgent } from "../helpers/agent-process.js";
import { startNginx } from "../helpers/nginx.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { benchController, floorReload, rollingReload, settle, timeStats } from "./bench-support.js";

export async function benchStepOverhead(runs = 15) {
  const scratch = scratchDir("fleet-bench-step-");
  const nginx = await startNginx(path.join(scratch.dir, "n"));
  const conf = path.join(scratch.dir, "agent.yaml");
  writeFileSync(
    conf,
    `listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
limits: { mutations_per_second: 100000 }
services:
  nginx:
    reload: { signal: HUP, pidfile: ${nginx.pidfile} }
    reject_markers: { log: ${nginx.errorLog}, pattern: "\\\\[emerg\\\\]" }
    generation: workers
    healthy_for: 0ms
    health: [{ http: "http://127.0.0.1:${nginx.port}/healthz" }]
    configs: [{ path: ${nginx.conf} }]
`,
  );
  const agent = await spawnAgent(conf);
  const client = createAgentClient(agent.address);
  const core = benchController("web", "nginx", [agent.address], path.join(scratch.dir, "history.db"));
  try {
    await client.describe({});
    await core.groupStatus("web");
    const floor: number[] = [];
    const agentTotal: number[] = [];
    const directCall: number[] = [];
    const rollout: number[] = [];
    const probeUrl = `http://127.0.0.1:${nginx.port}/healthz`;
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      await floorReload(nginx.pidfile, probeUrl, true);
      floor.push(performance.now() - t);
      await settle();
      t = performance.now();
      const x = await client.reload({ requestId: `step-${r}`, service: "nginx", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
      directCall.push(performance.now() - t);
      if (!x.ok) throw new Error(`bench reload: ${x.reason}`);
      agentTotal.push(x.evidence!.durations!.totalMs);
      await settle();
      t = performance.now();
      await rollingReload(core, "web", 1);
      rollout.push(performance.now() - t);
      await settle();
    }
    return { runs, floor: timeStats(floor), agentTotal: timeStats(agentTotal), directCall: timeStats(directCall), rollout: timeStats(rollout) };
  } finally {
    client.close();
    await core.shutdown();
    await agent.stopInside();
    await nginx.stop();
    scratch.remove();
  }
}

// Agent footprint: idle CPU and RSS of the real fleet-agent daemon (the
// compiled build, as bin/fleet-agent runs it; the packages bundle the same
// code), then RSS and latency of 1,000 sequential Status calls. RSS is read
// right after start-up and again after the idle period (V8 gives memory back
// after a few idle seconds). Status is served from a 500 ms cache, so the
// median is the cached answer and the p99 includes the recomputations.
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createAgentClient } from "../../common/agent-client.js";
import { spawnAgent } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService } from "../helpers/web-service.js";

function sample(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
  return { cpuMs: (ticks * 1000) / 100, rssMb: +(rssKb / 1024).toFixed(1) };
}

export async function benchAgentFootprint(idleSeconds = 60, statusCalls = 1000) {
  const scratch = scratchDir("fleet-bench-");
  const web = await startWebService(scratch.dir, "web");
  const conf = path.join(scratch.dir, "agent.yaml");
  writeFileSync(conf, `listen: 127.0.0.1:0\ninsecure: true\nservices:\n  web:\n    reload: { signal: HUP, pidfile: ${web.pidfile} }\n    health: [{ http: "http://127.0.0.1:${web.port}/healthz" }]\n    configs: [{ path: ${web.configFile} }]\n`);
  const agent = await spawnAgent(conf);
  // bin/fleet-agent execs node, so the child is the agent itself.
  const pid = agent.child.pid!;
  try {
    await new Promise((r) => setTimeout(r, 2000)); // let start-up settle
    const a = sample(pid);
    const startupRssMb = a.rssMb;
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const b = sample(pid);
    const client = createAgentClient(agent.address);
    const lat: number[] = [];
    for (let i = 0; i < statusCalls; i++) {
      const s = performance.now();
      await client.status("web");
      lat.push(performance.now() - s);
    }
    client.close();
    const c = sample(pid);
    lat.sort((x, y) => x - y);
    return {
      idleSeconds,
      idleCpuPercent: +((100 * (b.cpuMs - a.cpuMs)) / (idleSeconds * 1000)).toFixed(3),
      startupRssMb,
      idleRssMb: b.rssMb,
      statusCalls,
      statusMedianMs: +lat[Math.floor(lat.length / 2)]!.toFixed(2),
      statusP99Ms: +lat[Math.floor(lat.length * 0.99)]!.toFixed(2),
      rssAfterStatusMb: c.rssMb,
      cpus: os.cpus().length,
    };
  } finally {
    await agent.stopInside();
    await web.stop();
    scratch.remove();
  }
}

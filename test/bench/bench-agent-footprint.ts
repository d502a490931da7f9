// Agent footprint: idle CPU and RSS of the real fleet-agent daemon as the
// package runs it (the one-file bundle that packaging/bundle-for-package.mjs
// makes for the .deb and .rpm, run by node as /usr/bin/fleet-agent does), then
// RSS and latency of 1,000 sequential Status calls. RSS is read
// right after start-up and again after the idle period (V8 gives memory back
// after a few idle seconds). Status is served from a 500 ms cache, so the
// median is the cached answer and the p99 includes the recomputations.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createAgentClient } from "../../common/agent-client.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";
import { REPO_ROOT, startWebService } from "../helpers/web-service.js";

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
  writeFileSync(conf, `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${scratch.dir}/state\nservices:\n  web:\n    reload: { signal: HUP, pidfile: ${web.pidfile} }\n    health: [{ http: "http://127.0.0.1:${web.port}/healthz" }]\n    configs: [{ path: ${web.configFile} }]\n`);
  const bundle = path.join(scratch.dir, "fleet-agent.mjs");
  execFileSync(process.execPath, [path.join(REPO_ROOT, "packaging/bundle-for-package.mjs"), "agent/main.ts", bundle], { cwd: REPO_ROOT, stdio: "inherit", timeout: 120_000 });
  const agent = await startPackagedAgent(bundle, conf);
  const pid = agent.pid;
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
    await agent.stop();
    await web.stop();
    scratch.remove();
  }
}

/**
 * node BUNDLE --config FILE, as the package's /usr/bin/fleet-agent runs it, in the environment its
 * unit gets from systemd (PATH alone: nothing of this shell's, such as NODE_EXTRA_CA_CERTS, whose
 * certificate bundle Node would load at start-up); resolves once it listens.
 */
async function startPackagedAgent(bundle: string, conf: string) {
  const env = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
  const child = spawn(process.execPath, [bundle, "--config", conf], { stdio: ["ignore", "pipe", "pipe"], env });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const address = await waitFor("the packaged agent to listen", () => {
      if (child.exitCode !== null) throw new Error(`the packaged agent exited ${child.exitCode}: ${out}`);
      return /"msg":"agent listening","address":"([^"]+)"/.exec(out)?.[1];
    }, 20_000);
    return { pid: child.pid!, address, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

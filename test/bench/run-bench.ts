// npm run bench: every benchmark in one run; prints a table and writes
// test/bench/results.json. BENCH_QUICK=1 shortens them for a smoke run;
// BENCH_ONLY=scale,cliStart runs only those (the others keep their last
// figures in results.json).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describeLeak, snapshotStateDir, stateDirChanges } from "../helpers/host-state-dir.js";
import { nginxMissing } from "../helpers/nginx.js";
import { benchAgentFootprint } from "./bench-agent-footprint.js";
import { benchCliStart } from "./bench-cli-start.js";
import { benchFloor } from "./bench-floor.js";
import { benchHistory } from "./bench-history.js";
import { benchNetworkFleet, networkFleetMissing } from "./bench-network-fleet.js";
import { benchScale } from "./bench-scale.js";
import { benchStepOverhead } from "./bench-step-overhead.js";

const quick = process.env.BENCH_QUICK === "1";
const only = process.env.BENCH_ONLY?.split(",").filter(Boolean);
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), "results.json");
const earlier = only && existsSync(out) ? (JSON.parse(readFileSync(out, "utf8")) as Record<string, unknown>) : {};
const results: Record<string, unknown> = { ...earlier, date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, quick };

/** Benchmarks that wrote to the agent's default state_dir on this machine (reported at the end; the run then fails). */
const leaks: string[] = [];
const guardStateDir = process.env.FLEET_TEST_STATE_GUARD !== "off";

const step = async (name: string, fn: () => Promise<unknown>) => {
  if (only && !only.includes(name)) return;
  process.stderr.write(`bench: ${name}...\n`);
  const before = guardStateDir ? snapshotStateDir() : undefined;
  const t = performance.now();
  results[name] = await fn();
  process.stderr.write(`bench: ${name} done in ${((performance.now() - t) / 1000).toFixed(1)}s\n`);
  const changes = before ? stateDirChanges(before, snapshotStateDir()) : [];
  if (changes.length) leaks.push(describeLeak(`benchmark ${name}`, changes));
};

if (nginxMissing) results.floor = { skipped: nginxMissing };
else await step("floor", () => benchFloor(20, 5, quick ? 2 : 5));
if (nginxMissing) results.stepOverhead = { skipped: nginxMissing };
else await step("stepOverhead", () => benchStepOverhead(quick ? 5 : 15));
if (networkFleetMissing) results.networkFleet = { skipped: networkFleetMissing };
else await step("networkFleet", () => benchNetworkFleet(20, 5, quick ? 1 : 5));
await step("scale", () => benchScale(quick ? 1000 : 10_000, quick ? 100 : 500));
await step("agentFootprint", () => benchAgentFootprint(quick ? 5 : 60, 1000));
await step("cliStart", () => benchCliStart(quick ? 5 : 20));
await step("history", () => benchHistory(quick ? 100_000 : 1_000_000));

writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
const r = results as any;
const rows: [string, string][] = [];
if (r.floor?.ratio) {
  const f = r.floor;
  rows.push([`floor ratio (${f.hosts} nginx, batches of ${f.batch}, ${f.runs} runs)`, `fleet ${f.fleet.medianMs}ms vs floor ${f.floor.medianMs}ms (new worker seen): ratio median ${f.ratio.median} (min ${f.ratio.min}, max ${f.ratio.max})`]);
  rows.push([`  same, floor waits for old workers to retire`, `floor ${f.floorOldWorkersRetired.medianMs}ms: ratio median ${f.ratioOldWorkersRetired.median} (min ${f.ratioOldWorkersRetired.min}, max ${f.ratioOldWorkersRetired.max})`]);
}
if (r.stepOverhead?.floor) {
  const o = r.stepOverhead;
  rows.push([`one nginx, one agent, nothing else (${o.runs} runs, medians)`, `floor ${o.floor.medianMs}ms; agent's own total ${o.agentTotal.medianMs}ms; Reload call ${o.directCall.medianMs}ms; one-host rollout (preflight, history) ${o.rollout.medianMs}ms`]);
}
if (r.networkFleet?.fleet) {
  const f = r.networkFleet;
  const range = (x: { medianMs: number; minMs: number; maxMs: number }) => `${x.medianMs}ms (${x.minMs}-${x.maxMs})`;
  const ratio = (x: { median: number; min: number; max: number }) => `${x.median} (${x.min}-${x.max})`;
  rows.push([`${f.hosts} netns hosts (nginx + agent + sshd), batches of ${f.batch}, ${f.runs} runs, healthy_for 0`, `fleet reload (CLI included) ${range(f.fleet)}; floor ${range(f.floor)}: ratio ${ratio(f.fleetOverFloor)} (target <= 1.3)`]);
  rows.push([`  floor that stops at the first new worker`, `${range(f.floorFirstWorker)}: ratio ${ratio(f.fleetOverFirstWorkerFloor)}`]);
  if (f.cpuMsPerRun) rows.push([`  CPU per fleet reload (healthy_for 0)`, `20 agents together ${f.cpuMsPerRun.agents.medianMs}ms, controller daemon ${f.cpuMsPerRun.controller.medianMs}ms (medians)`]);
  rows.push([`  default timings (healthy_for 500ms)`, `fleet ${range(f.defaults.fleet)}; over floor + ${f.defaults.healthyWindowsMs}ms of windows: ${ratio(f.defaults.overFloorPlusWindows)} (target <= 1.15)`]);
  rows.push([`  Ansible (serial ${f.batch}, kill -HUP + uri gate over ssh)`, `${range(f.ansible)}: ${ratio(f.ansibleOverFleet)}x fleet (healthy_for 0), ${ratio(f.ansibleOverFleetDefaults)}x fleet (defaults)`]);
} else if (r.networkFleet?.skipped) rows.push(["netns hosts + Ansible", `skipped: ${r.networkFleet.skipped}`]);
const s = r.scale?.reload;
if (s) {
  rows.push([`scale: ${s.hosts} agents, batches of ${s.batch}`, `${s.wallSeconds}s wall, controller ${s.controllerCpuMsPerHostStep}ms CPU per host-step (target <= 0.5; median of ${s.warmRuns ?? 1} warm runs${s.warmRuns ? `, ${s.cpuMsPerHostStepMin}-${s.cpuMsPerHostStepMax}` : ""}), peak RSS ${s.controllerPeakRssMb}MB`]);
  if (s.gcPauseMs !== undefined) rows.push([`  of that CPU`, `${s.controllerSystemCpuMs}ms in the kernel (loopback: the agents' receive side too), ${s.gcPauseMs}ms in GC pauses, of ${s.controllerCpuMs}ms`]);
  rows.push([`  history writes`, `${s.historyWriteMsPerBatch}ms per batch in ${s.historyCommitsPerBatch} transactions per batch (${s.historyWriteMs}ms in all, ${s.historyWriteMsPerHost}ms/host)`]);
  rows.push([`  first run (cold JIT)`, `${s.cold.wallSeconds}s wall, controller ${s.cold.controllerCpuMsPerHostStep}ms CPU per host-step, peak RSS ${s.cold.controllerPeakRssMb}MB`]);
  for (const p of r.scale.planAndRecord) rows.push([`plan + record ${p.hosts} hosts`, `plan ${p.planMs}ms, record ${p.recordMs}ms (${p.recordMsPerHost}ms/host)`]);
}
const a = r.agentFootprint;
if (a) {
  rows.push([`agent idle ${a.idleSeconds}s (package bundle)`, `${a.idleCpuPercent}% CPU, RSS ${a.idleRssMb}MB (target <= 50; ${a.startupRssMb ?? "?"}MB right after start-up)`]);
  rows.push([`agent ${a.statusCalls} sequential Status`, `median ${a.statusMedianMs}ms (target <= 5), p99 ${a.statusP99Ms}ms, RSS after ${a.rssAfterStatusMb}MB`]);
}
const c = r.cliStart;
if (c) {
  rows.push([`fleet --help, ${c.runs} cold starts`, `median ${c.help.medianMs}ms (target <= 120; min ${c.help.minMs}, max ${c.help.maxMs}); node -e 0: ${c.nodeFloor.medianMs}ms`]);
  rows.push([`fleet history (local controller), ${c.runs} cold starts`, `median ${c.history.medianMs}ms (target <= 120; min ${c.history.minMs}, max ${c.history.maxMs})`]);
}
const h = r.history;
if (h) rows.push([`history with ${h.stepRows} step rows`, `fleet history median ${h.history.medianMs.toFixed(2)}ms (group ${h.historyGroup.medianMs.toFixed(2)}ms), fleet show median ${h.show.medianMs.toFixed(2)}ms`]);
const w = Math.max(...rows.map(([k]) => k.length));
console.log(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n"));
console.log(`\nwritten to ${out}`);
if (leaks.length) process.stderr.write(`\n${leaks.join("\n\n")}\n`);
process.exit(leaks.length ? 1 : 0);

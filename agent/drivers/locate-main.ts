// Finds a main process by pidfile, command-line match or systemd unit.
import type { MainTarget } from "../config/agent-config.js";
import type { FactsNeeded, ProcessInspector } from "../process/process-inspector.js";
import type { SystemdClient } from "../process/systemd-client.js";
import type { Located } from "./service-driver.js";
import { parsePidText, staleReason } from "./target-identity.js";

export async function locateMain(target: MainTarget, systemd: SystemdClient, inspector: ProcessInspector, need?: FactsNeeded): Promise<Located> {
  switch (target.kind) {
    case "pidfile":
      return fromPidfile(target.path, inspector, need);
    case "process": {
      const self = process.pid;
      const procs = (await inspector.list()).filter((p) => p.pid !== self && p.command.includes(target.match));
      const pids = new Set(procs.map((p) => p.pid));
      // The main process is the matching one whose parent does not match too.
      const tops = procs.filter((p) => !pids.has(p.ppid));
      if (tops.length === 0) return { state: "not_running", reason: `no process matches ${JSON.stringify(target.match)}` };
      if (tops.length > 1) return { state: "error", reason: `${tops.length} unrelated processes match ${JSON.stringify(target.match)} (pids ${tops.map((p) => p.pid).join(", ")}); make the match specific` };
      return fromPid(tops[0]!.pid, `pid ${tops[0]!.pid} matching ${JSON.stringify(target.match)} exited`, inspector, need);
    }
    case "unit": {
      let unit;
      try {
        unit = await systemd.show(target.unit);
      } catch (err) {
        return { state: "error", reason: (err as Error).message };
      }
      if (unit.loadState === "not-found") return { state: "error", reason: `systemd unit ${target.unit} does not exist` };
      if (unit.activeState !== "active" && unit.activeState !== "reloading") return { state: "not_running", reason: `unit ${target.unit} is ${unit.activeState} (${unit.subState})` };
      if (unit.mainPid <= 0) return { state: "error", reason: `unit ${target.unit} is active but has no main PID` };
      const located = await fromPid(unit.mainPid, `MainPID ${unit.mainPid} of ${target.unit} is gone`, inspector, need);
      if (located.state === "running") {
        located.main.invocationId = unit.invocationId;
        located.main.nRestarts = unit.nRestarts;
      }
      return located;
    }
  }
}

async function fromPidfile(file: string, inspector: ProcessInspector, need?: FactsNeeded): Promise<Located> {
  const read = await inspector.readPidfile(file);
  if (!read.ok) return read.missing ? { state: "not_running", reason: read.reason } : { state: "error", reason: `${read.reason}; nothing was signalled` };
  const text = read.text;
  const pid = parsePidText(text);
  if (pid === undefined) return { state: "error", reason: `pidfile ${file} does not hold a decimal pid (it holds ${JSON.stringify(text.trim().slice(0, 40))}); nothing was signalled` };
  const located = await fromPid(pid, `pid ${pid} from ${file} is not running (stale pidfile); nothing was signalled`, inspector, need);
  if (located.state !== "running") return located;
  const stale = staleReason(located.facts, file, read.modifiedAtMs);
  return stale ? { state: "not_running", reason: stale } : located;
}

/** A zombie has exited: it is not running, whatever its PID says. */
export async function fromPid(pid: number, goneReason: string, inspector: ProcessInspector, need?: FactsNeeded): Promise<Located> {
  if (!Number.isInteger(pid) || pid <= 0) return { state: "error", reason: `${goneReason} (not a pid: ${pid})` };
  const p = await inspector.inspect(pid, need);
  if (!p) return { state: "not_running", reason: goneReason };
  if (p.state === "Z" || p.state === "X") return { state: "not_running", reason: `pid ${pid} is a zombie (it exited and was not reaped); nothing was signalled` };
  return { state: "running", main: { pid, startTime: p.startTime, uid: p.uid, command: p.command }, facts: p };
}

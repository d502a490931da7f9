// Finds a main process by pidfile, command-line match or systemd unit.
import { readFile } from "node:fs/promises";
import type { MainTarget } from "../config/agent-config.js";
import { listProcs, readProc } from "../process/proc-fs.js";
import type { SystemdClient } from "../process/systemd-client.js";
import type { Located } from "./service-driver.js";

export async function locateMain(target: MainTarget, systemd: SystemdClient): Promise<Located> {
  switch (target.kind) {
    case "pidfile": {
      let text: string;
      try {
        text = await readFile(target.path, "utf8");
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return { state: "not_running", reason: `pidfile ${target.path} does not exist` };
        return { state: "error", reason: `cannot read pidfile ${target.path}: ${(err as Error).message}` };
      }
      const pid = Number(text.trim());
      if (!Number.isInteger(pid) || pid <= 1) return { state: "error", reason: `pidfile ${target.path} does not hold a pid (${JSON.stringify(text.trim().slice(0, 40))})` };
      return fromPid(pid, `pid ${pid} from ${target.path} is not running (stale pidfile)`);
    }
    case "process": {
      const self = process.pid;
      const procs = (await listProcs()).filter((p) => p.pid !== self && p.command.includes(target.match));
      const pids = new Set(procs.map((p) => p.pid));
      // The main process is the matching one whose parent does not match too.
      const tops = procs.filter((p) => !pids.has(p.ppid));
      if (tops.length === 0) return { state: "not_running", reason: `no process matches ${JSON.stringify(target.match)}` };
      if (tops.length > 1) return { state: "error", reason: `${tops.length} unrelated processes match ${JSON.stringify(target.match)} (pids ${tops.map((p) => p.pid).join(", ")}); make the match specific` };
      const p = tops[0]!;
      return { state: "running", main: { pid: p.pid, startTime: p.startTime, uid: p.uid, command: p.command } };
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
      const located = await fromPid(unit.mainPid, `MainPID ${unit.mainPid} of ${target.unit} is gone`);
      if (located.state === "running") {
        located.main.invocationId = unit.invocationId;
        located.main.nRestarts = unit.nRestarts;
      }
      return located;
    }
  }
}

export async function fromPid(pid: number, goneReason: string): Promise<Located> {
  const p = await readProc(pid);
  if (!p) return { state: "not_running", reason: goneReason };
  return { state: "running", main: { pid, startTime: p.startTime, uid: p.uid, command: p.command } };
}

// What the reload needs to know about processes, behind one small interface so
// the reload phases can run against a fake as well as against /proc.
import { readFileSync } from "node:fs";
import { readFile, readlink, stat } from "node:fs/promises";
import { childPids, childrenOf, listProcs, listeningSocketInodes, parseStat, socketInodes, type ProcInfo } from "./proc-fs.js";

export interface ProcessFacts {
  pid: number;
  ppid: number;
  /** Field 22 of /proc/PID/stat: clock ticks since boot. With pid, the process's identity. */
  startTime: number;
  /** The same start as wall-clock milliseconds, to compare with file times. */
  startedAtMs: number;
  /** Effective uid. */
  uid: number;
  /** R, S, D, Z, ... (Z: exited, not yet reaped). */
  state: string;
  command: string;
  /** Target of /proc/PID/exe; "" when unreadable. */
  exe: string;
  kernelThread: boolean;
  /** SigCgt and SigIgn of /proc/PID/status: bit N-1 set for signal N. */
  caught: bigint;
  ignored: bigint;
}

export interface ProcessInspector {
  /** Every fact about one process, zombies included; undefined when there is no such process. */
  inspect(pid: number): Promise<ProcessFacts | undefined>;
  list(): Promise<ProcInfo[]>;
  /** Live children (zombies left out). */
  children(pid: number): Promise<number[]>;
  /** Children as the kernel lists them, zombies included: cheap, for polling. Undefined when the kernel cannot list them cheaply. */
  childPids(pid: number): Promise<number[] | undefined>;
  socketInodes(pid: number): Promise<Set<number>>;
  listeningSocketInodes(pid: number): Promise<number[]>;
  /** Last modification of a file, wall-clock ms; undefined when it cannot be read. */
  modifiedAtMs(path: string): Promise<number | undefined>;
}

/** USER_HZ, the unit of /proc/PID/stat times: 100 on every architecture Linux runs on today. */
export const CLOCK_TICKS_PER_SECOND = 100;
const PF_KTHREAD = 0x00200000;

/** Parses the Uid (effective), SigCgt and SigIgn lines of /proc/PID/status. */
export function parseStatus(text: string): { uid: number; caught: bigint; ignored: bigint } | undefined {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(text)?.[1]?.trim();
  const uid = Number(field("Uid")?.split(/\s+/)[1]);
  const cgt = field("SigCgt");
  const ign = field("SigIgn");
  if (!Number.isInteger(uid) || !cgt || !ign || !/^[0-9a-f]+$/i.test(cgt) || !/^[0-9a-f]+$/i.test(ign)) return undefined;
  return { uid, caught: BigInt(`0x${cgt}`), ignored: BigInt(`0x${ign}`) };
}

/**
 * Wall-clock start of a process. Boot time is now minus /proc/uptime (the
 * same clock as starttime, finer than the whole seconds of btime in
 * /proc/stat); the result is good to a clock tick plus the read's latency.
 */
export function startedAtMs(startTicks: number, uptimeSeconds: number, nowMs: number): number {
  const bootMs = nowMs - uptimeSeconds * 1000;
  return bootMs + (startTicks * 1000) / CLOCK_TICKS_PER_SECOND;
}

async function inspectProc(pid: number): Promise<ProcessFacts | undefined> {
  try {
    const [statText, statusText, cmdline, exe] = await Promise.all([
      readFile(`/proc/${pid}/stat`, "utf8"),
      readFile(`/proc/${pid}/status`, "utf8"),
      readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""),
      readlink(`/proc/${pid}/exe`).catch(() => ""),
    ]);
    // Uptime and now are read together, synchronously: an asynchronous read's result can wait on a
    // busy event loop, and every millisecond it waits would move the computed start later (a
    // live daemon's PID file would then look older than its process: "stale").
    const uptime = readFileSync("/proc/uptime", "utf8");
    const nowMs = Date.now();
    const st = parseStat(statText);
    const status = parseStatus(statusText);
    if (!st || !status) return undefined;
    return {
      pid,
      ppid: st.ppid,
      startTime: st.startTime,
      startedAtMs: startedAtMs(st.startTime, Number(uptime.split(" ")[0]), nowMs),
      uid: status.uid,
      state: st.state,
      command: cmdline.split("\0").filter(Boolean).join(" ") || st.comm,
      exe,
      kernelThread: (st.flags & PF_KTHREAD) !== 0,
      caught: status.caught,
      ignored: status.ignored,
    };
  } catch {
    return undefined;
  }
}

export const procFsInspector: ProcessInspector = {
  inspect: inspectProc,
  list: listProcs,
  children: childrenOf,
  childPids,
  socketInodes,
  listeningSocketInodes,
  modifiedAtMs: (path) => stat(path).then((s) => s.mtimeMs, () => undefined),
};

// What the reload needs to know about processes, behind one small interface so
// the reload phases can run against a fake as well as against /proc.
import { closeSync, constants, fstatSync, openSync, readFileSync, readlinkSync, readSync } from "node:fs";
import { readFile, readlink, stat } from "node:fs/promises";
import { childPids, childrenOf, holdsAnySocket, listProcs, listeningSocketInodes, parseStat, socketInodes, type ProcInfo } from "./proc-fs.js";

export interface ProcessFacts {
  pid: number;
  /** Thread group id: equal to pid for a process; another number when "pid" is one of a process's threads. */
  tgid: number;
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
  /** "DEV:INO" of the executable the process runs (stat of /proc/PID/exe); undefined when unreadable. */
  exeId?: string;
  /** Its mount namespace (/proc/PID/ns/mnt, e.g. "mnt:[4026531841]"): paths mean what they say only in the agent's own. */
  mntNs?: string;
  kernelThread: boolean;
  /** SigCgt and SigIgn of /proc/PID/status: bit N-1 set for signal N. */
  caught: bigint;
  ignored: bigint;
}

export interface ProcessInspector {
  /**
   * Every fact about one process, zombies included; undefined when there is no such process.
   * `need` leaves out the two reads that may wait (and so go through the thread pool): without
   * `command` it is the kernel's short name (comm), without `exeId` undefined.
   */
  inspect(pid: number, need?: FactsNeeded): Promise<ProcessFacts | undefined>;
  /** Only its identity and state (one read of /proc/PID/stat): for watching whether a process exited or was replaced. */
  identity(pid: number): Promise<{ startTime: number; state: string } | undefined>;
  list(): Promise<ProcInfo[]>;
  /** Live children (zombies left out). */
  children(pid: number): Promise<number[]>;
  /** Children as the kernel lists them, zombies included: cheap, for polling. Undefined when the kernel cannot list them cheaply. */
  childPids(pid: number): Promise<number[] | undefined>;
  socketInodes(pid: number): Promise<Set<number>>;
  /** The fd by which the process holds one of these sockets open (the first found; `tryFirst` looked at first), or undefined. */
  holdsAnySocket(pid: number, inodes: ReadonlySet<number>, tryFirst?: number): Promise<number | undefined>;
  listeningSocketInodes(pid: number): Promise<number[]>;
  /** A PID file, read safely: see readPidfile. */
  readPidfile(path: string): Promise<PidfileRead>;
  /** The agent's own mount namespace, as ProcessFacts.mntNs spells it. */
  selfMountNamespace(): Promise<string | undefined>;
  /** "DEV:INO" of a file (following symlinks), as ProcessFacts.exeId spells it; undefined when unreadable. */
  fileId(path: string): Promise<string | undefined>;
}

export interface FactsNeeded {
  /** The full command line (/proc/PID/cmdline); default true. */
  command?: boolean;
  /** The executable's device and inode (stat of /proc/PID/exe); default true. */
  exeId?: boolean;
}

export type PidfileRead = { ok: true; text: string; modifiedAtMs: number } | { ok: false; missing: boolean; reason: string };

/** A PID file holds a few digits; anything longer is not one. */
const MAX_PIDFILE_BYTES = 64;

/**
 * Reads a PID file without following a symlink in its last component, without blocking on a
 * FIFO put in its place, only if it is a small regular file; its mtime comes from the same open
 * file, so the staleness check judges the very bytes that were read.
 *
 * Synchronously, as systemd reads PIDFile=: PID files live in /run (a tmpfs), where open, fstat
 * and a 64-byte read cost microseconds, while four thread-pool round trips cost milliseconds on a
 * busy host, before the signal and again after it. (A PID file on a network file system that
 * hangs would stall the agent while it hangs; keep PID files local.)
 */
export async function readPidfile(path: string): Promise<PidfileRead> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, missing: true, reason: `pidfile ${path} does not exist` };
    if (code === "ELOOP") return { ok: false, missing: false, reason: `pidfile ${path} is a symbolic link; the agent reads PID files only as regular files` };
    return { ok: false, missing: false, reason: `cannot read pidfile ${path}: ${(err as Error).message}` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, missing: false, reason: `pidfile ${path} is not a regular file` };
    if (st.size > MAX_PIDFILE_BYTES) return { ok: false, missing: false, reason: `pidfile ${path} holds ${st.size} bytes; a PID file holds a few digits` };
    const buf = Buffer.alloc(MAX_PIDFILE_BYTES);
    const bytesRead = readSync(fd, buf, 0, MAX_PIDFILE_BYTES, 0);
    return { ok: true, text: buf.subarray(0, bytesRead).toString("utf8"), modifiedAtMs: st.mtimeMs };
  } catch (err) {
    return { ok: false, missing: false, reason: `cannot read pidfile ${path}: ${(err as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

/** USER_HZ, the unit of /proc/PID/stat times: 100 on every architecture Linux runs on today. */
export const CLOCK_TICKS_PER_SECOND = 100;
const PF_KTHREAD = 0x00200000;

/** Parses the Tgid, Uid (effective), SigCgt and SigIgn lines of /proc/PID/status. */
export function parseStatus(text: string): { tgid: number; uid: number; caught: bigint; ignored: bigint } | undefined {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(text)?.[1]?.trim();
  const tgid = Number(field("Tgid"));
  const uid = Number(field("Uid")?.split(/\s+/)[1]);
  const cgt = field("SigCgt");
  const ign = field("SigIgn");
  if (!Number.isInteger(tgid) || !Number.isInteger(uid) || !cgt || !ign || !/^[0-9a-f]+$/i.test(cgt) || !/^[0-9a-f]+$/i.test(ign)) return undefined;
  return { tgid, uid, caught: BigInt(`0x${cgt}`), ignored: BigInt(`0x${ign}`) };
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

async function inspectProc(pid: number, need: FactsNeeded = {}): Promise<ProcessFacts | undefined> {
  try {
    // cmdline takes the target's memory lock and /proc/PID/exe's stat asks the executable's file
    // system: those two may wait, so they are asynchronous (and left out when not needed); the rest
    // is kernel state, read at once.
    const slow = Promise.all([
      need.command === false ? "" : readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""),
      need.exeId === false ? undefined : stat(`/proc/${pid}/exe`).catch(() => undefined),
    ]);
    let statText: string, statusText: string;
    try {
      statText = readFileSync(`/proc/${pid}/stat`, "utf8");
      statusText = readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
      return undefined;
    }
    const exe = readLinkOrEmpty(`/proc/${pid}/exe`);
    const mntNs = readLinkOrEmpty(`/proc/${pid}/ns/mnt`) || undefined;
    // Uptime and now are read together, synchronously: every millisecond between them would move
    // the computed start later (a live daemon's PID file would then look older than its process: "stale").
    const uptime = readFileSync("/proc/uptime", "utf8");
    const nowMs = Date.now();
    const st = parseStat(statText);
    const status = parseStatus(statusText);
    if (!st || !status) return undefined;
    const [cmdline, exeStat] = await slow;
    return {
      pid,
      tgid: status.tgid,
      ppid: st.ppid,
      startTime: st.startTime,
      startedAtMs: startedAtMs(st.startTime, Number(uptime.split(" ")[0]), nowMs),
      uid: status.uid,
      state: st.state,
      command: cmdline.split("\0").filter(Boolean).join(" ") || st.comm,
      exe,
      exeId: exeStat ? `${exeStat.dev}:${exeStat.ino}` : undefined,
      mntNs,
      kernelThread: (st.flags & PF_KTHREAD) !== 0,
      caught: status.caught,
      ignored: status.ignored,
    };
  } catch {
    return undefined;
  }
}

function readLinkOrEmpty(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}

/** The agent's own mount namespace does not change while it runs. */
let selfMntNs: Promise<string | undefined> | undefined;

function identityOf(pid: number): Promise<{ startTime: number; state: string } | undefined> {
  try {
    const st = parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    return Promise.resolve(st && { startTime: st.startTime, state: st.state });
  } catch {
    return Promise.resolve(undefined);
  }
}

export const procFsInspector: ProcessInspector = {
  inspect: inspectProc,
  identity: identityOf,
  list: listProcs,
  children: childrenOf,
  childPids,
  socketInodes,
  holdsAnySocket,
  listeningSocketInodes,
  readPidfile,
  selfMountNamespace: () => (selfMntNs ??= readlink("/proc/self/ns/mnt").catch(() => undefined)),
  fileId: (path) => stat(path).then((s) => `${s.dev}:${s.ino}`, () => undefined),
};

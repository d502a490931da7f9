// Pure rules for which process the agent (root) may act on: never itself, its
// parent, init, a kernel thread or a zombie; never a stranger behind a stale
// PID file; only what the service declares; only a process that handles the
// signal it is about to receive.
import { constants } from "node:os";
import type { ExpectSpec, ReloadSignal } from "../config/agent-config.js";
import type { ProcessFacts } from "../process/process-inspector.js";

export interface TargetContext {
  selfPid: number;
  parentPid: number;
  /** The agent's own mount namespace: an executable's path names the same file only inside it. */
  selfMntNs?: string;
  expect?: ExpectSpec;
  /** "DEV:INO" of expect.exe as the agent sees it now (undefined: unreadable). */
  expectExeId?: string;
  /** The signal the reload will deliver to this process, when it delivers one. */
  signal?: ReloadSignal;
  userName: (uid: number) => string;
}

export type TargetVerdict = { outcome: "refused" | "not_running"; reason: string } | undefined;

/** Linux pid_max can be at most 2^22. */
const PID_MAX = 4_194_304;

/** A PID file holds plain decimal digits (whitespace around them allowed); anything else ("0x1f", "1e3", "-1", "12 34") is not a PID. */
export function parsePidText(text: string): number | undefined {
  const m = /^\s*([1-9][0-9]{0,6})\s*$/.exec(text);
  const pid = m ? Number(m[1]) : NaN;
  return pid <= PID_MAX ? pid : undefined;
}

/**
 * Mtimes and start times are each exact to a few milliseconds; a second of
 * slack covers file systems that round mtimes down and a tick of /proc.
 */
export const PIDFILE_SLACK_MS = 1000;

/** A process that started after its PID file was last written is not the process the file names. */
export function staleReason(p: ProcessFacts, pidfile: string, writtenAtMs: number): string | undefined {
  if (p.startedAtMs <= writtenAtMs + PIDFILE_SLACK_MS) return undefined;
  const at = (ms: number) => new Date(ms).toISOString();
  return `stale pidfile ${pidfile}: it was written at ${at(writtenAtMs)} but pid ${p.pid} (${p.command.slice(0, 80)}) started later, at ${at(p.startedAtMs)}; the daemon it named is gone and the PID now belongs to another process; nothing was signalled`;
}

export function targetVerdict(p: ProcessFacts, ctx: TargetContext): TargetVerdict {
  const refuse = (reason: string) => ({ outcome: "refused" as const, reason: `${reason}; nothing was signalled` });
  if (p.state === "Z" || p.state === "X") return { outcome: "not_running", reason: `pid ${p.pid} is a zombie (it exited and was not reaped); nothing was signalled` };
  // /proc/TID reads like a process, and kill(TID) signals the whole thread group (the agent's own, even).
  if (p.tgid !== p.pid) return refuse(`pid ${p.pid} is a thread of process ${p.tgid}, not a process`);
  if (p.pid === ctx.selfPid) return refuse(`pid ${p.pid} is the fleet agent itself`);
  if (p.pid === ctx.parentPid) return refuse(`pid ${p.pid} is the fleet agent's parent`);
  if (p.pid === 1) return refuse("pid 1 is init; the agent never signals it");
  // By the PF_KTHREAD flag, not by pid 2: in a PID namespace pid 2 is an ordinary process.
  if (p.kernelThread) return refuse(`pid ${p.pid} (${p.command}) is a kernel thread`);
  const expected = expectMismatch(p, ctx);
  if (expected) return refuse(expected);
  if (ctx.signal) {
    const disposition = signalRefusal(p, ctx.signal);
    if (disposition) return refuse(disposition);
  }
  return undefined;
}

function expectMismatch(p: ProcessFacts, ctx: TargetContext): string | undefined {
  const e = ctx.expect;
  if (!e) return undefined;
  if (e.exe) {
    const wrong = exeMismatch(p, e.exe, ctx);
    if (wrong) return wrong;
  }
  if (e.user !== undefined && e.user !== ctx.userName(p.uid) && e.user !== String(p.uid)) {
    return `pid ${p.pid} runs as ${ctx.userName(p.uid)} (uid ${p.uid}), but the service declares expect.user ${e.user}`;
  }
  return undefined;
}

/**
 * In the agent's mount namespace a path names what it says, and only root can put a binary there:
 * the path is compared (after a package upgrade the running binary reads "PATH (deleted)": still
 * that program). In another mount namespace anyone can bind-mount any program over that path, so
 * the executable must be the very file (device and inode) the agent sees at expect.exe.
 */
function exeMismatch(p: ProcessFacts, expected: string, ctx: TargetContext): string | undefined {
  const runs = `pid ${p.pid} runs ${p.exe || "(unreadable executable)"}`;
  if (p.mntNs === ctx.selfMntNs) {
    return p.exe.replace(/ \(deleted\)$/, "") === expected ? undefined : `${runs}, but the service declares expect.exe ${expected}`;
  }
  if (p.exeId && p.exeId === ctx.expectExeId) return undefined;
  return `${runs} in another mount namespace, and it is not the file at expect.exe ${expected} (device and inode differ)`;
}

/** Refuses a signal the process ignores or has no handler for (its default action then kills or does nothing). */
export function signalRefusal(p: Pick<ProcessFacts, "pid" | "caught" | "ignored">, signal: ReloadSignal): string | undefined {
  const bit = 1n << BigInt(constants.signals[`SIG${signal}`] - 1);
  if (p.ignored & bit) return `pid ${p.pid} ignores SIG${signal}: it cannot reload by signal`;
  if (p.caught & bit) return undefined;
  // SIGWINCH's default action is to discard it; the others terminate.
  return signal === "WINCH" ? `pid ${p.pid} has no handler for SIGWINCH: the signal would be discarded and nothing would reload` : `SIG${signal} would terminate pid ${p.pid}: it has no handler for it`;
}

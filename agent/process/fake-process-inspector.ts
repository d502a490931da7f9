// An in-memory ProcessInspector for unit tests of the reload phases: a table
// of processes the test edits between calls.
import type { ProcInfo } from "./proc-fs.js";
import { readPidfile, type FactsNeeded, type PidfileRead, type ProcessFacts, type ProcessInspector } from "./process-inspector.js";

const HUP_BIT = 1n << 0n;

export class FakeProcessInspector implements ProcessInspector {
  readonly procs = new Map<number, ProcessFacts>();
  readonly childrenOf = new Map<number, number[]>();
  readonly sockets = new Map<number, number[]>();
  readonly listening = new Map<number, number[]>();
  readonly mtimes = new Map<string, number>();

  /** Adds a process that catches SIGHUP, started a minute ago, as root; `facts` overrides. */
  add(pid: number, facts: Partial<ProcessFacts> = {}): ProcessFacts {
    const p: ProcessFacts = {
      pid,
      tgid: pid,
      ppid: 1,
      startTime: 1000 + pid,
      startedAtMs: Date.now() - 60_000,
      uid: 0,
      state: "S",
      command: `daemon-${pid}`,
      exe: "/usr/sbin/daemon",
      kernelThread: false,
      caught: HUP_BIT,
      ignored: 0n,
      ...facts,
    };
    this.procs.set(pid, p);
    return p;
  }

  async inspect(pid: number, _need?: FactsNeeded) {
    const p = this.procs.get(pid);
    return p ? { ...p } : undefined;
  }
  async identity(pid: number) {
    const p = this.procs.get(pid);
    return p ? { startTime: p.startTime, state: p.state } : undefined;
  }
  async list(): Promise<ProcInfo[]> {
    return [...this.procs.values()].filter((p) => p.state !== "Z").map((p) => ({ pid: p.pid, ppid: p.ppid, startTime: p.startTime, uid: p.uid, state: p.state, command: p.command }));
  }
  async children(pid: number) {
    return [...(this.childrenOf.get(pid) ?? [])];
  }
  async childPids(pid: number) {
    return [...(this.childrenOf.get(pid) ?? [])];
  }
  async socketInodes(pid: number) {
    return new Set(this.sockets.get(pid) ?? []);
  }
  /** Fake processes have no fd numbers: the position in the process's socket list stands for one. */
  async holdsAnySocket(pid: number, inodes: ReadonlySet<number>) {
    const at = (this.sockets.get(pid) ?? []).findIndex((i) => inodes.has(i));
    return at < 0 ? undefined : at;
  }
  async listeningSocketInodes(pid: number) {
    return [...(this.listening.get(pid) ?? [])];
  }
  /** Undefined, like every fake process's mntNs: one namespace. */
  async selfMountNamespace() {
    return undefined;
  }
  async fileId() {
    return undefined;
  }
  /** The real file's text; its mtime from `mtimes` when the test set one. */
  async readPidfile(path: string): Promise<PidfileRead> {
    const r = await readPidfile(path);
    const mtime = this.mtimes.get(path);
    return r.ok && mtime !== undefined ? { ...r, modifiedAtMs: mtime } : r;
  }
}

// Reads process facts from /proc. Identity is (pid, starttime): a PID alone
// can be reused, starttime (field 22 of /proc/PID/stat) cannot repeat for it.
//
// The files a reload polls (stat, status, task children, fd links, the TCP
// tables' leading rows) are read synchronously: the kernel formats them from
// its own tables without waiting on the target (unlike cmdline or environ,
// which take the target's memory lock), each read costs microseconds, while
// an asynchronous read costs a thread-pool round trip per open/read/close and
// milliseconds once the machine is busy. cmdline stays asynchronous.
import { closeSync, openSync, readFileSync, readSync, readdirSync, readlinkSync } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";

export interface ProcInfo {
  pid: number;
  ppid: number;
  startTime: number;
  uid: number;
  state: string;
  command: string;
}

export async function readProc(pid: number): Promise<ProcInfo | undefined> {
  try {
    const [statText, st, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/stat`, "utf8"),
      stat(`/proc/${pid}`),
      readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""),
    ]);
    const info = parseStat(statText);
    if (!info || info.state === "Z" || info.state === "X") return undefined;
    return { pid, ppid: info.ppid, startTime: info.startTime, uid: st.uid, state: info.state, command: cmdline.split("\0").filter(Boolean).join(" ") || info.comm };
  } catch {
    return undefined;
  }
}

/** Parses /proc/PID/stat; the command may contain spaces and ')' so split after the last ')'. */
export function parseStat(text: string): { comm: string; state: string; ppid: number; flags: number; startTime: number } | undefined {
  const close = text.lastIndexOf(")");
  const open = text.indexOf("(");
  if (close < 0 || open < 0) return undefined;
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const ppid = Number(rest[1]);
  const flags = Number(rest[6]);
  const startTime = Number(rest[19]);
  if (!Number.isFinite(ppid) || !Number.isFinite(startTime) || !Number.isFinite(flags)) return undefined;
  return { comm: text.slice(open + 1, close), state: rest[0] ?? "?", ppid, flags, startTime };
}

export async function listProcs(): Promise<ProcInfo[]> {
  const names = await readdir("/proc");
  const procs = await Promise.all(names.filter((n) => /^\d+$/.test(n)).map((n) => readProc(Number(n))));
  return procs.filter((p): p is ProcInfo => p !== undefined);
}

/**
 * Child PIDs of a process as the kernel lists them, zombies included:
 * /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN), a read per thread.
 * Cheap enough to poll every few milliseconds. Undefined without the
 * children files (then childrenOf reads every process); [] when the process is gone.
 */
export async function childPids(pid: number): Promise<number[] | undefined> {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  try {
    return tasks.flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, "latin1").split(" ").filter(Boolean).map(Number));
  } catch (err) {
    // The process exited between the two reads, or the kernel has no children files.
    return (err as NodeJS.ErrnoException).code === "ENOENT" && !(await exists(`/proc/${pid}`)) ? [] : undefined;
  }
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** A process that exists and has not exited (a zombie has). */
function isLive(pid: number): boolean {
  try {
    const st = parseStat(readFileSync(`/proc/${pid}/stat`, "latin1"));
    return !!st && st.state !== "Z" && st.state !== "X";
  } catch {
    return false;
  }
}

/**
 * Child PIDs of a process, zombies left out. /proc/PID/task/TID/children
 * (CONFIG_PROC_CHILDREN) is cheap; without it, every process in /proc is read.
 */
export async function childrenOf(pid: number): Promise<number[]> {
  const kids = await childPids(pid);
  if (kids === undefined) return (await listProcs()).filter((p) => p.ppid === pid).map((p) => p.pid).sort((a, b) => a - b);
  return kids.filter(isLive).sort((a, b) => a - b);
}

/** How many fd links are read between yields to the event loop: a proxy's worker may hold tens of thousands. */
const FD_LINKS_PER_TURN = 1024;
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/** The socket inode behind one fd link ("socket:[INODE]"), or undefined. */
function socketAt(pid: number, fd: number): number | undefined {
  let link: string;
  try {
    link = readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return undefined; // closed, or the process is gone
  }
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/**
 * Visits the socket inodes a process holds open, lowest fd first (its fd
 * links only: cheap), until `visit` returns true; then that fd.
 */
async function scanSockets(pid: number, visit: (inode: number) => boolean): Promise<number | undefined> {
  let fds: number[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);
  } catch {
    return undefined;
  }
  for (const [i, fd] of fds.entries()) {
    if (i > 0 && i % FD_LINKS_PER_TURN === 0) await nextTurn();
    const inode = socketAt(pid, fd);
    if (inode !== undefined && visit(inode)) return fd;
  }
  return undefined;
}

/** Inodes of every socket the process holds open. */
export async function socketInodes(pid: number): Promise<Set<number>> {
  const held = new Set<number>();
  await scanSockets(pid, (inode) => (held.add(inode), false));
  return held;
}

/**
 * The fd by which the process still holds one of these sockets, or undefined.
 * Listeners are opened at start-up, before any connection, so they sit among
 * the lowest fds: a process that still listens is answered after a few links,
 * and only one that stopped costs a full scan. `tryFirst` (the fd a previous
 * call returned) is one link when the answer has not changed; a link that no
 * longer shows one of these sockets there is no answer, and the scan follows.
 */
export async function holdsAnySocket(pid: number, inodes: ReadonlySet<number>, tryFirst?: number): Promise<number | undefined> {
  if (tryFirst !== undefined) {
    const inode = socketAt(pid, tryFirst);
    if (inode !== undefined && inodes.has(inode)) return tryFirst;
  }
  return scanSockets(pid, (inode) => inodes.has(inode));
}

/**
 * Inodes of listening TCP sockets the process holds open, from its netns's TCP
 * tables. The kernel lists a table by walking the host's socket hashes (tens of
 * thousands of connections on a busy proxy, every namespace's, and the empty
 * buckets of a hash sized for the host's memory: about a millisecond on an idle
 * host), but its listening hash comes first, so the LISTEN rows lead: reading
 * stops at the first row in another state. Reads are a page each: the kernel
 * resumes every read by its position in a hash bucket, so a socket removed
 * ahead meanwhile makes it skip one, and smaller reads would resume (and could
 * skip) more often.
 */
export async function listeningSocketInodes(pid: number): Promise<number[]> {
  const held = await socketInodes(pid);
  if (held.size === 0) return [];
  const listening = new Set(["tcp", "tcp6"].flatMap((t) => listenRows(`/proc/${pid}/net/${t}`)));
  return [...held].filter((i) => listening.has(i)).sort((a, b) => a - b);
}

/** A bound on what one table read may cost, should the rows ever not be ordered. */
const LISTEN_TABLE_MAX_BYTES = 4 << 20;
/** The kernel's own buffer for these tables: one read returns at most a page. */
const TABLE_READ_BYTES = 4096;

/** Socket inodes of the leading TCP_LISTEN (0A) rows of one /proc/net/tcp* table. */
function listenRows(file: string): number[] {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return [];
  }
  const inodes: number[] = [];
  try {
    const buf = Buffer.alloc(TABLE_READ_BYTES);
    let carry = "";
    let header = true;
    for (let total = 0; total < LISTEN_TABLE_MAX_BYTES; ) {
      const bytesRead = readSync(fd, buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      const lines = (carry + buf.toString("latin1", 0, bytesRead)).split("\n");
      carry = lines.pop()!;
      for (const line of lines) {
        if (header) {
          header = false;
          continue;
        }
        const cols = line.trim().split(/\s+/);
        if (cols[3] !== "0A") return inodes; // 0A = TCP_LISTEN; the rest of the table is connections
        inodes.push(Number(cols[9]));
      }
    }
    return inodes;
  } catch {
    return inodes;
  } finally {
    closeSync(fd);
  }
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}
let passwd: PasswdEntry[] | undefined;
function passwdEntries(): PasswdEntry[] {
  if (!passwd) {
    passwd = [];
    try {
      for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
        const [name, , uid, gid] = line.split(":");
        if (name && uid && gid) passwd.push({ name, uid: Number(uid), gid: Number(gid) });
      }
    } catch {
      // no passwd: numeric ids only
    }
  }
  return passwd;
}

export function userName(uid: number): string {
  return passwdEntries().find((e) => e.uid === uid)?.name ?? `uid ${uid}`;
}

/** uid and primary gid of a user name, as config files declare owners. */
export function userIds(name: string): { uid: number; gid: number } | undefined {
  const e = passwdEntries().find((x) => x.name === name);
  return e ? { uid: e.uid, gid: e.gid } : undefined;
}

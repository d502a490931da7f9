// The highest epoch this agent has accepted from each controller identity, on
// disk in state_dir/controller-epochs.json, so a restarted agent still fences
// an old controller. Written like every file the agent writes: through a
// directory opened without following symlinks (VerifiedDir), a temp file
// synced and renamed over the old one, the directory synced. The directory
// must belong to the agent's user and be writable by nobody else; a file that
// cannot be read as what we wrote refuses fenced calls rather than forgetting.
import { lstatSync } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { failedPrecondition, resourceExhausted } from "../../common/errors.js";
import { formatEpoch, parseEpoch, type ControllerEpoch } from "../../common/controller-epoch.js";
import { VerifiedDir, type FileId } from "../configs/verified-dir.js";

export const EPOCH_FILE = "controller-epochs.json";
const MAX_BYTES = 1024 * 1024;
/** More identities than a fleet ever has controllers; beyond it new ones are refused, never old ones forgotten. */
export const MAX_CONTROLLERS = 64;

export interface SeenEpoch {
  epoch: ControllerEpoch;
  seenAt: string;
}

/** Another writer (another agent sharing the state_dir) replaced the file between our read and our write. */
export class EpochFileChanged extends Error {}

export interface EpochStore {
  read(): Promise<Map<string, SeenEpoch>>;
  write(all: Map<string, SeenEpoch>): Promise<void>;
  /**
   * True only when, by synchronous lstats, the file is exactly as the last read found it (inode, size, mtime,
   * ctime) and so is the way to it: the same state_dir path, every directory on it the same inode with the
   * same mode and owner (a chmod, chown or a symlink swapped in anywhere means the file is read again, with
   * every check of a read).
   */
  unchangedSinceRead(): boolean;
}

/** The file store in `stateDir()` (read at each call: a SIGHUP may move state_dir). */
export class FileEpochStore implements EpochStore {
  private lastRead: FileId | undefined;
  /** The file's stamp when a read found it unchanged from before the read to after it. */
  private readStamp: { where: string; stamp: string } | undefined;

  constructor(private readonly stateDir: () => string) {}

  async read(): Promise<Map<string, SeenEpoch>> {
    const where = path.join(path.normalize(this.stateDir()), EPOCH_FILE);
    this.readStamp = undefined;
    const before = stampOf(where);
    const dir = await this.open();
    try {
      const file = await dir.readRegular(EPOCH_FILE, MAX_BYTES);
      this.lastRead = file?.id;
      const parsed = file ? parseEpochFile(file.bytes, path.join(dir.path, EPOCH_FILE)) : new Map<string, SeenEpoch>();
      // A stamp the same before and after the read, of the very file that was read, vouches for what was read.
      const same = before !== undefined && before.text === stampOf(where)?.text;
      if (same && (file ? before.file?.dev === BigInt(file.id.dev) && before.file.ino === BigInt(file.id.ino) : !before.file)) this.readStamp = { where, stamp: before.text };
      return parsed;
    } finally {
      await dir.close();
    }
  }

  unchangedSinceRead(): boolean {
    const r = this.readStamp;
    return !!r && r.where === path.join(path.normalize(this.stateDir()), EPOCH_FILE) && stampOf(r.where)?.text === r.stamp;
  }

  async write(all: Map<string, SeenEpoch>): Promise<void> {
    // The next look reads the file again (and stamps what it finds).
    this.readStamp = undefined;
    if (all.size > MAX_CONTROLLERS) throw resourceExhausted(`this agent already remembers ${MAX_CONTROLLERS} controller identities; remove the ones no longer in use from ${path.join(this.stateDir(), EPOCH_FILE)}`);
    const dir = await this.open();
    try {
      const body = Buffer.from(JSON.stringify({ version: 1, controllers: Object.fromEntries([...all].map(([id, s]) => [id, { epoch: formatEpoch(s.epoch), seen_at: s.seenAt }])) }, null, 2) + "\n");
      const own = { mode: 0o600, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
      const expected = this.lastRead;
      try {
        this.lastRead = await dir.install(EPOCH_FILE, body, own, expected);
      } catch (err) {
        const now = (await dir.readRegular(EPOCH_FILE, MAX_BYTES).catch(() => undefined))?.id;
        if (now?.ino !== expected?.ino || now?.dev !== expected?.dev) throw new EpochFileChanged(`${EPOCH_FILE} changed while it was being written`);
        throw err;
      }
    } finally {
      await dir.close();
    }
  }

  /** state_dir, created 0700 if missing, opened without following symlinks, and writable only by this user. */
  private async open(): Promise<VerifiedDir> {
    const where = this.stateDir();
    await mkdir(where, { recursive: true, mode: 0o700 });
    const dir = await VerifiedDir.open(path.normalize(where));
    try {
      const st = await stat(where);
      const uid = process.getuid?.() ?? 0;
      if (st.dev !== dir.id.dev || st.ino !== dir.id.ino) throw failedPrecondition(`state_dir ${where} changed while it was opened; controller epochs not read`);
      if (st.uid !== uid || (st.mode & 0o022) !== 0) {
        throw failedPrecondition(
          `state_dir ${where} is owned by uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")}: the controller epochs this agent fences with are kept only in a directory that uid ${uid} owns and no one else can write (chown ${uid} and chmod 0700 it)`,
        );
      }
      return dir;
    } catch (err) {
      await dir.close();
      throw err;
    }
  }
}

/**
 * The epoch file's stamp: each directory from / down to state_dir as "dev:ino:mode:uid" (lstat: a symlink
 * shows in the mode, a chmod or chown in mode and uid), then the file itself as "dev:ino:size:mtime:ctime"
 * (ns) or "absent"; undefined when a directory cannot be looked at. Synchronous: a few lstats of local
 * directories. The file's ctime moves on every change to its inode and cannot be set back from user space;
 * a replacement (the temp file renamed over) is a new inode.
 */
function stampOf(file: string): { text: string; file?: { dev: bigint; ino: bigint } } | undefined {
  const dirs: string[] = [];
  for (let d = path.dirname(file); ; d = path.dirname(d)) {
    dirs.unshift(d);
    if (d === path.dirname(d)) break;
  }
  try {
    const parts = dirs.map((d) => {
      const s = lstatSync(d, { bigint: true });
      return `${s.dev}:${s.ino}:${s.mode}:${s.uid}`;
    });
    try {
      const s = lstatSync(file, { bigint: true });
      return { text: [...parts, `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`].join(" "), file: { dev: s.dev, ino: s.ino } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") return undefined;
      return { text: [...parts, "absent"].join(" ") };
    }
  } catch {
    return undefined;
  }
}

/** Parses the file; anything unexpected is a refusal naming the file (fencing must not silently forget). */
export function parseEpochFile(bytes: Buffer, file: string): Map<string, SeenEpoch> {
  const broken = (why: string) =>
    failedPrecondition(`${file} cannot be read (${why}); calls from controllers are refused until it is repaired or removed (removing it forgets which controllers were fenced)`);
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw broken(`not JSON: ${(err as Error).message}`);
  }
  const controllers = (data as { version?: unknown; controllers?: unknown } | null)?.controllers;
  if ((data as { version?: unknown })?.version !== 1 || typeof controllers !== "object" || controllers === null || Array.isArray(controllers)) throw broken("expected {version: 1, controllers: {...}}");
  const out = new Map<string, SeenEpoch>();
  for (const [id, v] of Object.entries(controllers)) {
    const epoch = parseEpoch(String((v as { epoch?: unknown })?.epoch ?? ""));
    if (!epoch) throw broken(`controller ${JSON.stringify(id)} has no valid epoch`);
    out.set(id, { epoch, seenAt: String((v as { seen_at?: unknown }).seen_at ?? "") });
  }
  return out;
}

// A set of declared config files opened together: each file's directory
// opened once through a verified directory (no symlink followed), its live
// bytes read, and what the change will do to it. Every later operation on a
// file of the set goes through its entry's directory.
import path from "node:path";
import { failedPrecondition } from "../../common/errors.js";
import type { ConfigFileSpec } from "../config/agent-config.js";
import { VerifiedDir, type FileId, type RegularFile } from "./verified-dir.js";
import { sha256 } from "./version-store.js";

/** The largest live file read back (for hashing, the version store and restore). */
export const MAX_LIVE_BYTES = 64 * 1024 * 1024;

export interface SetEntry {
  spec: ConfigFileSpec;
  dir: VerifiedDir;
  name: string;
  /** The live file when the set was opened; undefined = there was none. */
  live?: RegularFile;
  /** The new content; undefined = the file is to be removed (a rollback to "did not exist"). */
  content?: Buffer;
  previousSha256: string;
  newSha256: string;
  /** What is at the path now, after this change wrote it; undefined = nothing. Set once the entry is written. */
  written?: { id: FileId | undefined };
}

export const entryChanged = (e: SetEntry) => e.previousSha256 !== e.newSha256;

export interface RequestedFile {
  spec: ConfigFileSpec;
  /** undefined = remove the file. */
  content?: Buffer;
}

export class ConfigSet {
  private constructor(
    readonly entries: SetEntry[],
    private readonly dirs: VerifiedDir[],
  ) {}

  /** Opens each distinct directory once and reads every live file; closes what it opened if anything fails. */
  static async open(files: RequestedFile[]): Promise<ConfigSet> {
    const dirs = new Map<string, VerifiedDir>();
    try {
      const entries: SetEntry[] = [];
      for (const f of files) {
        const dirPath = path.dirname(f.spec.path);
        let dir = dirs.get(dirPath);
        if (!dir) dirs.set(dirPath, (dir = await VerifiedDir.open(dirPath)));
        const name = path.basename(f.spec.path);
        const live = await dir.readRegular(name, MAX_LIVE_BYTES);
        entries.push({ spec: f.spec, dir, name, live, content: f.content, previousSha256: live ? sha256(live.bytes) : "", newSha256: f.content ? sha256(f.content) : "" });
      }
      return new ConfigSet(entries, [...dirs.values()]);
    } catch (err) {
      await Promise.all([...dirs.values()].map((d) => d.close()));
      throw err;
    }
  }

  get changed(): SetEntry[] {
    return this.entries.filter(entryChanged);
  }

  async close(): Promise<void> {
    await Promise.all(this.dirs.map((d) => d.close()));
  }
}

/** Writes the entry's new state at its live path (atomic install, or removal), refusing a file swapped in meanwhile. */
export async function writeEntry(e: SetEntry): Promise<void> {
  if (e.content) {
    e.written = { id: await e.dir.install(e.name, e.content, e.spec, e.live?.id) };
  } else {
    if (e.live && !(await e.dir.removeIf(e.name, e.live.id))) {
      throw failedPrecondition(`${e.spec.path} was replaced by something else while fleet was removing it; left as it is`);
    }
    e.written = { id: undefined };
  }
}

/** Puts back what was live before (previous bytes and mode, or nothing), unless someone replaced the file meanwhile. */
export async function restoreEntry(e: SetEntry): Promise<void> {
  if (!e.written) return;
  const current = e.written.id;
  if (e.live) await e.dir.install(e.name, e.live.bytes, { ...e.spec, mode: e.live.mode }, current);
  else if (current) await e.dir.removeIf(e.name, current);
  e.written = undefined;
}

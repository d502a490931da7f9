// Keeps the versions of each declared config file by sha256, so a rollback
// can restore one by hash. Callers store only versions that were live
// (applied), so refused pushes never push a good version out.
//
// Written like an install (temp file, fsync, rename, directory fsync) and
// only through verified directories under state_dir: a kill -9 never leaves
// a partial file under a hash name, and a store directory or version file
// that is a symlink is refused, never followed. A version is checked against
// its hash whenever it is read or saved again: a damaged one (a disk fault,
// a torn write of an older agent) is rewritten by a save and refused and
// removed by a read, never installed.
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { failedPrecondition } from "../../common/errors.js";
import { tempFileOwner, VerifiedDir } from "./verified-dir.js";

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Longest escaped name used as is: NAME_MAX, as earlier agents did (a longer name could never be created). */
const MAX_NAME_BYTES = 255;
/** The largest version read back; the same bound as a live file read for the store. */
const MAX_VERSION_BYTES = 64 * 1024 * 1024;
const HASH = /^[0-9a-f]{64}$/;
const STORE_DIR_MODE = 0o700;

/**
 * The directory name of a declared path's versions, one-to-one: '%' and '/'
 * are escaped (so the file `/d/a%2Fb` and `/d/a/b` never share a store), and
 * a name too long for the file system is `%%` + the path's sha256, which no
 * escaped name can be ('%' is always followed by two hex digits there). Paths
 * without '%' keep the names earlier versions of fleet gave them.
 */
export function storeName(file: string): string {
  const escaped = file.replaceAll("%", "%25").replaceAll("/", "%2F");
  return Buffer.byteLength(escaped) <= MAX_NAME_BYTES ? escaped : `%%${sha256(Buffer.from(file))}`;
}

export class VersionStore {
  /**
   * `keep` (keep_versions): how many versions besides the newest one (the
   * version live after the last change) are kept, i.e. how many earlier
   * versions a rollback can return to.
   */
  constructor(
    private readonly root: string,
    private readonly keep: number,
  ) {}

  async save(service: string, file: string, content: Buffer): Promise<string> {
    const hash = sha256(content);
    const dir = (await this.openStore(service, file, true))!;
    try {
      await keepVersion(dir, hash, content);
      await this.prune(dir, hash);
    } finally {
      await dir.close();
    }
    return hash;
  }

  /** The bytes of version `hash`, undefined if it is not kept; a kept file that does not hash to `hash` is removed and refused. */
  async get(service: string, file: string, hash: string): Promise<Buffer | undefined> {
    if (!HASH.test(hash)) return undefined;
    const dir = await this.openStore(service, file, false);
    if (!dir) return undefined;
    try {
      const kept = await dir.readRegular(hash, MAX_VERSION_BYTES);
      if (!kept) return undefined;
      const actual = sha256(kept.bytes);
      if (actual === hash) return kept.bytes;
      await dir.removeIf(hash, kept.id);
      throw failedPrecondition(
        `version ${hash.slice(0, 12)} of ${file} kept on this host is damaged: its ${kept.bytes.length} bytes have sha256 ${actual.slice(0, 12)} (written by an agent that was killed, or a disk fault); it was removed and nothing was installed`,
      );
    } finally {
      await dir.close();
    }
  }

  /** state_dir/versions/SERVICE/NAME, each component opened without following symlinks; created (0700) when `create`. */
  private async openStore(service: string, file: string, create: boolean): Promise<VerifiedDir | undefined> {
    await mkdir(this.root, { recursive: true, mode: STORE_DIR_MODE });
    let dir = await VerifiedDir.open(path.normalize(this.root));
    for (const name of ["versions", service, storeName(file)]) {
      const parent = dir;
      const next = await parent.openDir(name, create ? { mode: STORE_DIR_MODE } : undefined).finally(() => parent.close());
      if (!next) return undefined;
      dir = next;
    }
    return dir;
  }

  /** Keeps the newest version (`newest`, just saved) and `keep` more by modification time; removes temp files a killed save left. */
  private async prune(dir: VerifiedDir, newest: string): Promise<void> {
    const versions: { name: string; id: { dev: number; ino: number }; mtimeMs: number }[] = [];
    const leftovers: string[] = [];
    for await (const name of dir.names()) {
      if (HASH.test(name)) {
        const e = await dir.entry(name);
        if (e?.isFile) versions.push({ name, id: e.id, mtimeMs: e.mtimeMs });
      } else if (HASH.test(tempFileOwner(name) ?? "")) {
        // Saves of one store are serialized (one change per service at a time): another temp file is a leftover.
        leftovers.push(name);
      }
    }
    versions.sort((a, b) => Number(b.name === newest) - Number(a.name === newest) || b.mtimeMs - a.mtimeMs);
    for (const v of versions.slice(this.keep + 1)) await dir.removeIf(v.name, v.id);
    for (const name of leftovers) await dir.removeRegular(name);
  }
}

/** `content` kept as `hash`: an intact copy only becomes the newest (mtime); a damaged one, or a symlink, is replaced. */
async function keepVersion(dir: VerifiedDir, hash: string, content: Buffer): Promise<void> {
  const existing = await dir.entry(hash);
  if (existing?.isFile) {
    const kept = await dir.readRegular(hash, MAX_VERSION_BYTES).catch(() => undefined);
    if (kept?.bytes.equals(content) && (await dir.touch(hash, kept.id))) return;
  } else if (existing) {
    // Not ours (a symlink): unlink removes the name, never what it points to. A directory fails here, clearly.
    await dir.remove(hash);
  }
  const own = { mode: 0o600, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  await dir.install(hash, content, own, existing?.isFile ? existing.id : undefined);
}

// A declared directory opened so that swapping any path component for a
// symlink (even between check and use) cannot redirect a read or a write.
//
// Node has no openat(2). The directory is opened one component at a time from
// "/", each step as /proc/self/fd/PARENT/NAME with O_NOFOLLOW|O_DIRECTORY: the
// kernel resolves /proc/self/fd/PARENT to the directory that fd holds (not to
// a path), and NAME must be a real directory, not a symlink. Every later read,
// create, rename and unlink goes through /proc/self/fd/DIR/NAME the same way,
// with O_NOFOLLOW on files, O_EXCL on temp files, O_NONBLOCK so a FIFO cannot
// hang the agent, and a device/inode check of what was opened.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, mkdir, open, opendir, readlink, rename, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { failedPrecondition, permissionDenied } from "../../common/errors.js";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK, O_NOCTTY } = constants;

export interface FileId {
  dev: number;
  ino: number;
}

export interface RegularFile {
  bytes: Buffer;
  id: FileId;
  mode: number;
}

export interface Ownership {
  mode: number;
  uid: number;
  gid: number;
}

const sameId = (a: FileId, b: FileId) => a.dev === b.dev && a.ino === b.ino;

/** Our temp files are named `.NAME.fleet-TAG-HEX12`: `tmp` while installing, `staged` while checking. */
export type TempTag = "tmp" | "staged";
const TEMP_NAME = /^\.(.+)\.fleet-(?:tmp|staged)-[0-9a-f]{12}$/;
const tempName = (name: string, tag: TempTag) => `.${name}.fleet-${tag}-${randomBytes(6).toString("hex")}`;
/** Bytes a temp name adds to its file's name (the longest tag); NAME_MAX (255) bounds the sum. */
export const TEMP_NAME_EXTRA_BYTES = Buffer.byteLength(tempName("", "staged"));

/** The declared file NAME a temp file of ours was written for, or undefined if `entry` is not named like one. */
export function tempFileOwner(entry: string): string | undefined {
  return TEMP_NAME.exec(entry)?.[1];
}

export class VerifiedDir {
  private constructor(
    /** The declared path, for messages and for commands that need a path. */
    readonly path: string,
    private readonly handle: FileHandle,
    readonly id: FileId,
  ) {}

  /** Opens `dir` (absolute, normalized) component by component, refusing symlinks and non-directories. */
  static async open(dir: string): Promise<VerifiedDir> {
    if (!path.isAbsolute(dir) || path.normalize(dir) !== dir) throw permissionDenied(`${dir} is not a normalized absolute path`);
    let handle = await open("/", O_RDONLY | O_DIRECTORY);
    let walked = "";
    try {
      for (const name of dir.split("/").filter(Boolean)) {
        walked += `/${name}`;
        const next = await open(`/proc/self/fd/${handle.fd}/${name}`, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
          throw refusal(walked, err, "directory");
        });
        await handle.close();
        handle = next;
      }
      const st = await handle.stat();
      return new VerifiedDir(dir, handle, { dev: st.dev, ino: st.ino });
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * The directory `name` in this one, opened like every component (never a
   * symlink); created with `mode` first when `create` is given and it is
   * missing. Undefined when it is missing and not to be created.
   */
  async openDir(name: string, create?: { mode: number }): Promise<VerifiedDir | undefined> {
    const where = path.join(this.path, name);
    if (create) {
      // mkdir(2) never follows a symlink at the last component: it fails with EEXIST, and the open below refuses it.
      await mkdir(this.at(name), { mode: create.mode }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "EEXIST") throw refusal(where, err, "directory");
      });
    }
    let handle: FileHandle;
    try {
      handle = await open(this.at(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && !create) return undefined;
      throw refusal(where, err as NodeJS.ErrnoException, "directory");
    }
    const st = await handle.stat().catch(async (err: Error) => {
      await handle.close();
      throw err;
    });
    return new VerifiedDir(where, handle, { dev: st.dev, ino: st.ino });
  }

  /** What `name` is (never following a symlink), or undefined if there is nothing by that name. */
  async entry(name: string): Promise<{ id: FileId; isFile: boolean; mtimeMs: number } | undefined> {
    const st = await lstat(this.at(name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    return st ? { id: { dev: st.dev, ino: st.ino }, isFile: st.isFile(), mtimeMs: st.mtimeMs } : undefined;
  }

  /** Sets the modification time of the regular file `name` to now, if it is still the file `expect`; says whether it did. */
  async touch(name: string, expect: FileId): Promise<boolean> {
    const fh = await open(this.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY).catch(() => undefined);
    if (!fh) return false;
    try {
      const st = await fh.stat();
      if (!st.isFile() || !sameId({ dev: st.dev, ino: st.ino }, expect)) return false;
      const now = new Date();
      await fh.utimes(now, now);
      return true;
    } finally {
      await fh.close();
    }
  }

  private at(name: string): string {
    if (!name || name.includes("/") || name === "." || name === "..") throw permissionDenied(`invalid file name ${JSON.stringify(name)}`);
    return `/proc/self/fd/${this.handle.fd}/${name}`;
  }

  /** The regular file `name` in this directory, or undefined if there is none; never follows a symlink. */
  async readRegular(name: string, maxBytes: number): Promise<RegularFile | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(this.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      if (code === "ELOOP") {
        // Only to name the target in the message; the file is refused either way.
        const target = await readlink(this.at(name)).catch(() => "(changed since)");
        throw permissionDenied(`${path.join(this.path, name)} is a symlink to ${target}; fleet only replaces regular files at declared paths`);
      }
      throw refusal(path.join(this.path, name), err as NodeJS.ErrnoException, "file");
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw permissionDenied(`${path.join(this.path, name)} is not a regular file; fleet only replaces regular files at declared paths`);
      if (st.size > maxBytes) throw failedPrecondition(`${path.join(this.path, name)} holds ${st.size} bytes, more than the ${maxBytes} fleet reads`);
      const bytes = await fh.readFile();
      return { bytes: bytes.subarray(0, maxBytes), id: { dev: st.dev, ino: st.ino }, mode: st.mode & 0o7777 };
    } finally {
      await fh.close();
    }
  }

  /** Creates a new temp file next to `name` (O_EXCL, no-follow), written and synced; returns its name. */
  async writeTemp(name: string, tag: TempTag, content: Buffer, own: Ownership): Promise<string> {
    return (await this.writeTempWithId(name, tag, content, own)).name;
  }

  /** writeTemp, also saying which file (device and inode) was written, as the open file knows it. */
  async writeTempWithId(name: string, tag: TempTag, content: Buffer, own: Ownership): Promise<{ name: string; id: FileId }> {
    const tmp = tempName(name, tag);
    const fh = await open(this.at(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK, 0o600);
    try {
      await fh.writeFile(content);
      if (process.getuid?.() === 0) await fh.chown(own.uid, own.gid);
      // After chown, which clears set-id bits.
      await fh.chmod(own.mode);
      await fh.sync();
      const st = await fh.stat();
      await fh.close();
      return { name: tmp, id: { dev: st.dev, ino: st.ino } };
    } catch (err) {
      await fh.close().catch(() => undefined);
      await this.remove(tmp);
      throw err;
    }
  }

  /**
   * Installs `content` as `name` atomically (temp file, rename, directory
   * fsync). `expect` is what must be at `name` right before the rename (the
   * file read earlier, or nothing): a swap in between is refused.
   */
  async install(name: string, content: Buffer, own: Ownership, expect: FileId | undefined): Promise<FileId> {
    const tmp = await this.writeTemp(name, "tmp", content, own);
    try {
      const current = await this.lstatId(name);
      if (expect ? !current || !sameId(current, expect) : current) {
        throw failedPrecondition(`${path.join(this.path, name)} was replaced by something else while fleet was installing it; nothing installed`);
      }
      await rename(this.at(tmp), this.at(name));
    } catch (err) {
      await this.remove(tmp);
      throw err;
    }
    await this.handle.sync();
    const installed = await this.lstatId(name);
    return installed ?? { dev: 0, ino: 0 };
  }

  /** Removes `name` (never following a symlink); absent is fine. */
  async remove(name: string): Promise<void> {
    await unlink(this.at(name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }

  /** Removes `name` only if it is still the file `expect`; says whether it did. */
  async removeIf(name: string, expect: FileId): Promise<boolean> {
    const current = await this.lstatId(name);
    if (!current || !sameId(current, expect)) return false;
    await this.remove(name);
    return true;
  }

  /** The names in this directory (streamed: a huge directory is not read into memory at once). */
  async *names(): AsyncGenerator<string> {
    for await (const entry of await opendir(`/proc/self/fd/${this.handle.fd}`)) yield entry.name;
  }

  /**
   * Removes `name` if it is a regular file (never following a symlink);
   * anything else is left and reported. unlink(2) removes a name, never a
   * symlink's target, so a swap after the lstat cannot make it reach outside.
   */
  async removeRegular(name: string): Promise<"removed" | "gone" | "not a regular file"> {
    const st = await lstat(this.at(name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (!st) return "gone";
    if (!st.isFile()) return "not a regular file";
    return (await this.removeIf(name, { dev: st.dev, ino: st.ino })) ? "removed" : "gone";
  }

  private async lstatId(name: string): Promise<FileId | undefined> {
    const st = await lstat(this.at(name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    return st ? { dev: st.dev, ino: st.ino } : undefined;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

function refusal(where: string, err: NodeJS.ErrnoException, what: "file" | "directory") {
  if (err.code === "ELOOP" || (what === "directory" && err.code === "ENOTDIR")) {
    return permissionDenied(`${where} is a symlink or not a ${what}; the agent follows no symlinks in the paths it writes (declared config paths, state_dir)`);
  }
  if (err.code === "ENOENT") return permissionDenied(`${what === "directory" ? "directory " : ""}${where} does not exist`);
  return failedPrecondition(`cannot open ${where}: ${err.code ?? err.message}`);
}

// Keeps the last K versions of each declared config file by sha256, so a
// rollback can restore one by hash. Callers store only versions that were
// live (applied), so refused pushes never push a good version out.
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Longest escaped name used as is; NAME_MAX is 255 bytes on Linux file systems. */
const MAX_NAME_BYTES = 240;

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
  constructor(
    private readonly root: string,
    private readonly keep: number,
  ) {}

  private dirFor(service: string, file: string) {
    return path.join(this.root, "versions", service, storeName(file));
  }

  async save(service: string, file: string, content: Buffer): Promise<string> {
    const dir = this.dirFor(service, file);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const hash = sha256(content);
    const target = path.join(dir, hash);
    const now = new Date();
    if (await stat(target).then(() => true, () => false)) await utimes(target, now, now);
    else await writeFile(target, content, { mode: 0o600 });
    await this.prune(dir);
    return hash;
  }

  async get(service: string, file: string, hash: string): Promise<Buffer | undefined> {
    if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
    return readFile(path.join(this.dirFor(service, file), hash)).catch(() => undefined);
  }

  private async prune(dir: string) {
    const entries = await Promise.all((await readdir(dir)).map(async (name) => ({ name, mtime: (await stat(path.join(dir, name))).mtimeMs })));
    entries.sort((a, b) => b.mtime - a.mtime);
    await Promise.all(entries.slice(this.keep).map((e) => rm(path.join(dir, e.name), { force: true })));
  }
}

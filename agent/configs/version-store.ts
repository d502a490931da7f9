// Keeps the last K versions of each declared config file by sha256, so a
// rollback can restore one by hash.
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export class VersionStore {
  constructor(
    private readonly root: string,
    private readonly keep: number,
  ) {}

  private dirFor(service: string, file: string) {
    return path.join(this.root, "versions", service, file.replaceAll("/", "%2F"));
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

// Installs a file so readers see either the old or the new content, never a
// mix: temp file in the same directory, fsync, owner and mode, rename, fsync
// of the directory.
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { ConfigFileSpec } from "../config/agent-config.js";
import { userIds } from "../process/proc-fs.js";

/** A temp path in the same directory, so rename stays atomic and relative includes resolve. */
export function siblingTemp(file: string, tag: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.fleet-${tag}-${randomBytes(4).toString("hex")}`);
}

export async function writeFileDurably(file: string, content: Buffer, spec: Pick<ConfigFileSpec, "mode" | "owner">): Promise<void> {
  const fh = await open(file, "wx", spec.mode);
  try {
    await fh.writeFile(content);
    await fh.chmod(spec.mode);
    const ids = userIds(spec.owner);
    if (!ids) throw new Error(`owner ${spec.owner} does not exist on this host`);
    if (process.getuid?.() === 0) await fh.chown(ids.uid, ids.gid);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function installAtomically(spec: ConfigFileSpec, content: Buffer): Promise<void> {
  const tmp = siblingTemp(spec.path, "tmp");
  try {
    await writeFileDurably(tmp, content, spec);
    await rename(tmp, spec.path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dir = await open(path.dirname(spec.path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

// Hashes of the config files a service declares, for Status and evidence.
// Read through a verified directory with no-follow: a declared file swapped
// for a symlink shows as not existing, never as the target's hash.
import { createHash } from "node:crypto";
import path from "node:path";
import type { ConfigFileSpec } from "../config/agent-config.js";
import { VerifiedDir } from "./verified-dir.js";

export interface ConfigFileState {
  path: string;
  exists: boolean;
  sha256: string;
  size: number;
}

/** Larger files, like unreadable ones, are reported as not existing. */
const MAX_HASHED_BYTES = 64 * 1024 * 1024;

export async function configFileStates(configs: ConfigFileSpec[]): Promise<ConfigFileState[]> {
  return Promise.all(configs.map(({ path: file }) => fileState(file)));
}

async function fileState(file: string): Promise<ConfigFileState> {
  const missing = { path: file, exists: false, sha256: "", size: 0 };
  let dir: VerifiedDir | undefined;
  try {
    dir = await VerifiedDir.open(path.dirname(file));
    const f = await dir.readRegular(path.basename(file), MAX_HASHED_BYTES);
    return f ? { path: file, exists: true, sha256: createHash("sha256").update(f.bytes).digest("hex"), size: f.bytes.length } : missing;
  } catch {
    return missing;
  } finally {
    await dir?.close();
  }
}

// DiffConfig: what a push of these files would change, per file. Read-only:
// live files are read through verified directories (no symlink followed)
// and nothing is written anywhere.
import path from "node:path";
import type { ConfigFileSpec } from "../config/agent-config.js";
import { unifiedDiff, type UnifiedDiff } from "./unified-diff.js";
import { VerifiedDir } from "./verified-dir.js";
import { sha256 } from "./version-store.js";
import { MAX_LIVE_BYTES } from "./config-set.js";

export interface FileDiffReport extends UnifiedDiff {
  path: string;
  liveExists: boolean;
  liveSha256: string;
  newSha256: string;
}

export async function diffConfigFiles(files: { spec: ConfigFileSpec; content: Buffer }[], limits: { maxDiffBytes: number; maxConfigBytes: number }): Promise<FileDiffReport[]> {
  const reports: FileDiffReport[] = [];
  for (const f of files) reports.push(await diffOne(f.spec, f.content, limits));
  return reports;
}

/** Others may not read it (a key, a password file): its content never leaves the agent in a diff. */
const isPrivate = (mode: number) => (mode & 0o004) === 0;

async function diffOne(spec: ConfigFileSpec, content: Buffer, limits: { maxDiffBytes: number; maxConfigBytes: number }): Promise<FileDiffReport> {
  const file = spec.path;
  const liveFile = await readLive(file);
  const live = liveFile?.bytes;
  const base = { path: file, liveExists: live !== undefined, liveSha256: live ? sha256(live) : "", newSha256: sha256(content) };
  if (isPrivate(spec.mode) || (liveFile && isPrivate(liveFile.mode))) {
    const same = base.liveSha256 === base.newSha256;
    return { ...base, text: same ? "" : `(${file} is not world-readable (mode ${(liveFile?.mode ?? spec.mode).toString(8).padStart(4, "0")}); only its hashes are shown)\n`, truncated: false, addedLines: 0, removedLines: 0, binary: false };
  }
  if (live && live.length > limits.maxConfigBytes) {
    return { ...base, text: `(the live file holds ${live.length} bytes, more than limits.max_config_bytes (${limits.maxConfigBytes}); not diffed)\n`, truncated: true, addedLines: 0, removedLines: 0, binary: false };
  }
  return { ...base, ...(await unifiedDiff(file, live, content, { maxBytes: limits.maxDiffBytes })) };
}

async function readLive(file: string): Promise<{ bytes: Buffer; mode: number } | undefined> {
  const dir = await VerifiedDir.open(path.dirname(file));
  try {
    return await dir.readRegular(path.basename(file), MAX_LIVE_BYTES);
  } finally {
    await dir.close();
  }
}

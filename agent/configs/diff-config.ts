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
  for (const f of files) reports.push(await diffOne(f.spec.path, f.content, limits));
  return reports;
}

async function diffOne(file: string, content: Buffer, limits: { maxDiffBytes: number; maxConfigBytes: number }): Promise<FileDiffReport> {
  const live = await readLive(file);
  const base = { path: file, liveExists: live !== undefined, liveSha256: live ? sha256(live) : "", newSha256: sha256(content) };
  if (live && live.length > limits.maxConfigBytes) {
    return { ...base, text: `(the live file holds ${live.length} bytes, more than limits.max_config_bytes (${limits.maxConfigBytes}); not diffed)\n`, truncated: true, addedLines: 0, removedLines: 0, binary: false };
  }
  return { ...base, ...(await unifiedDiff(file, live, content, { maxBytes: limits.maxDiffBytes })) };
}

async function readLive(file: string): Promise<Buffer | undefined> {
  const dir = await VerifiedDir.open(path.dirname(file));
  try {
    return (await dir.readRegular(path.basename(file), MAX_LIVE_BYTES))?.bytes;
  } finally {
    await dir.close();
  }
}

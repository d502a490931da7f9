// Removes the temp files a killed agent (kill -9, power loss) left beside the
// declared config files: staged copies of a check and half-made installs.
// Run at start, before the agent serves, so no push of this agent can own
// them. Only declared directories are looked at, each opened as a
// VerifiedDir (no symlink followed), and only names that are ours exactly
// (.NAME.fleet-tmp|staged-HEX12 with NAME a file declared in that directory)
// that are regular files are removed; look-alikes are left and logged.
import path from "node:path";
import type { Logger } from "../../common/logger.js";
import type { AgentConfig } from "../config/agent-config.js";
import { tempFileOwner, VerifiedDir } from "./verified-dir.js";

/** Declared directory -> the names of the files declared in it (by any service). */
export function declaredDirectories(config: AgentConfig): Map<string, Set<string>> {
  const dirs = new Map<string, Set<string>>();
  for (const svc of config.services.values()) {
    for (const c of svc.configs) {
      const dir = path.dirname(c.path);
      if (!dirs.has(dir)) dirs.set(dir, new Set());
      dirs.get(dir)!.add(path.basename(c.path));
    }
  }
  return dirs;
}

export interface SweepResult {
  removed: string[];
  left: string[];
}

export async function sweepLeftovers(config: AgentConfig, logger: Logger): Promise<SweepResult> {
  const result: SweepResult = { removed: [], left: [] };
  for (const [dirPath, names] of declaredDirectories(config)) {
    await sweepDirectory(dirPath, names, result).catch((err: Error) => {
      // A missing or refused directory is reported when a push needs it; nothing to sweep here.
      logger.debug("config directory not swept", { dir: dirPath, reason: err.message });
    });
  }
  if (result.removed.length) logger.info("removed leftover temp files of an earlier agent (killed mid-push)", { removed: result.removed });
  if (result.left.length) logger.warn("left alone: named like fleet's temp files, but not ours to remove", { left: result.left });
  return result;
}

async function sweepDirectory(dirPath: string, declared: Set<string>, result: SweepResult): Promise<void> {
  const dir = await VerifiedDir.open(dirPath);
  try {
    const ours: string[] = [];
    for await (const entry of dir.names()) {
      const owner = tempFileOwner(entry);
      if (owner !== undefined && declared.has(owner)) ours.push(entry);
    }
    for (const entry of ours) {
      const outcome = await dir.removeRegular(entry).catch((err: Error) => err.message);
      const where = path.join(dirPath, entry);
      if (outcome === "removed") result.removed.push(where);
      else if (outcome !== "gone") result.left.push(`${where} (${outcome})`);
    }
  } finally {
    await dir.close();
  }
}

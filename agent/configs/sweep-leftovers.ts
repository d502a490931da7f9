// Removes the temp files a killed agent (kill -9, power loss) left beside the
// declared config files: staged copies of a check and half-made installs.
// Run at start, before the agent serves, so no push of this agent can own
// them. Only declared directories are looked at, each opened as a
// VerifiedDir (no symlink followed), and only names that are ours exactly
// (.NAME.fleet-tmp|staged-HEX12 with NAME a file declared in that directory)
// that are regular files are removed; look-alikes are left and logged.
// Bounded (SWEEP_LIMITS): a directory stuffed with look-alikes delays the
// start by a bounded amount; what is left waits for the next start. Logged
// as counts with a few names.
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

/** Bounds on one start's sweep, so a directory stuffed with look-alikes cannot hold up the start. */
export interface SweepLimits {
  /** Directory entries looked at, per declared directory. */
  examinedPerDir: number;
  /** Files removed, in all. */
  removed: number;
}

export const SWEEP_LIMITS: SweepLimits = { examinedPerDir: 100_000, removed: 1_000 };
/** Paths named in each log line; the rest are counted. */
const LOGGED_NAMES = 10;

export interface SweepResult {
  removed: string[];
  left: string[];
  /** Declared directories not swept to the end (a limit was reached). */
  unfinished: string[];
}

export async function sweepLeftovers(config: AgentConfig, logger: Logger, limits: SweepLimits = SWEEP_LIMITS): Promise<SweepResult> {
  const result: SweepResult = { removed: [], left: [], unfinished: [] };
  for (const [dirPath, names] of declaredDirectories(config)) {
    await sweepDirectory(dirPath, names, result, limits).catch((err: Error) => {
      // A missing or refused directory is reported when a push needs it; nothing to sweep here.
      logger.debug("config directory not swept", { dir: dirPath, reason: err.message });
    });
  }
  const some = (paths: string[]) => paths.slice(0, LOGGED_NAMES);
  if (result.removed.length) logger.info("removed leftover temp files of an earlier agent (killed mid-push)", { count: result.removed.length, removed: some(result.removed) });
  if (result.left.length) logger.warn("left alone: named like fleet's temp files, but not ours to remove", { count: result.left.length, left: some(result.left) });
  if (result.unfinished.length) {
    logger.warn("start-up sweep stopped at its limit; the rest is looked at by the next start (or remove them by hand)", {
      dirs: result.unfinished,
      limits: { examined_per_dir: limits.examinedPerDir, removed: limits.removed },
    });
  }
  return result;
}

async function sweepDirectory(dirPath: string, declared: Set<string>, result: SweepResult, limits: SweepLimits): Promise<void> {
  const dir = await VerifiedDir.open(dirPath);
  try {
    const ours: string[] = [];
    let examined = 0;
    for await (const entry of dir.names()) {
      if (++examined > limits.examinedPerDir || result.removed.length + ours.length >= limits.removed) {
        result.unfinished.push(dirPath);
        break;
      }
      const owner = tempFileOwner(entry);
      // A declared file is never a leftover, whatever its name.
      if (owner !== undefined && declared.has(owner) && !declared.has(entry)) ours.push(entry);
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

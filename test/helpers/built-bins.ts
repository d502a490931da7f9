// The three entry points as tests run them: bin/* start the compiled build, so a test that spawns
// them first rebuilds it when any source is newer (a test must never drive stale code).
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./repo-root.js";

const SOURCE_DIRS = ["agent", "controller", "cli", "common", "proto/gen"];

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(path.join(REPO_ROOT, "build/BUILT")).mtimeMs;
  } catch {
    return 0;
  }
}

export function ensureBuilt(): void {
  const newest = Math.max(...SOURCE_DIRS.map((d) => newestSource(path.join(REPO_ROOT, d))));
  if (builtAt() >= newest) return;
  execFileSync(process.execPath, [path.join(REPO_ROOT, "packaging/build-entry-points.mjs")], { stdio: "inherit", timeout: 120_000 });
}

ensureBuilt();

export const FLEET_BIN = path.join(REPO_ROOT, "bin/fleet");
export const AGENT_BIN = path.join(REPO_ROOT, "bin/fleet-agent");
export const CONTROLLER_BIN = path.join(REPO_ROOT, "bin/fleet-controller");
/** The demo's reloadable web service, compiled: it starts in a fraction of tsx's time on a loaded machine. */
export const WEB_SERVICE_COMMAND = [process.execPath, path.join(REPO_ROOT, "build/demo-web-service.mjs")];

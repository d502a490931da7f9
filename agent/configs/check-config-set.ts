// Running a service's check against a new set of config files before any
// live file is touched (check_mode: staged):
// - in a private mount namespace, each staged copy bind-mounted over its live
//   path (new files and removals through an overlay on a tmpfs), so the check
//   sees exactly the set at the real paths and nothing else does;
// - without mount namespaces (not root), a set of one file is checked as a
//   staged copy beside the live file ({path} = the copy); a larger set is
//   refused, since no staged path could show it whole.
// {path} is the service's first declared config, at its live path.
import path from "node:path";
import { mkdir } from "node:fs/promises";
import { failedPrecondition } from "../../common/errors.js";
import type { ServiceConfig } from "../config/agent-config.js";
import type { CommandRunner } from "../process/command-runner.js";
import { substitutePath, type CheckReport } from "../reload/perform-reload.js";
import type { ConfigSet, SetEntry } from "./config-set.js";
import { inMountNamespace, type MountNamespaces } from "./mount-namespaces.js";
import { SETUP_FAILED_EXIT, SETUP_FAILED_MARKER } from "./namespace-helper.js";
import { planNamespaceMounts } from "./namespace-mounts.js";

export interface CheckDeps {
  runner: CommandRunner;
  namespaces: MountNamespaces;
  /** An empty directory of the agent's own (under state_dir) that a namespace's tmpfs is mounted on. */
  scratchDir: string;
  signal?: AbortSignal;
}

export type SetCheckReport = CheckReport & { timedOut: boolean; aborted: boolean };

/** The path {path} stands for: the first declared config, at its live path. */
export const checkTarget = (svc: ServiceConfig) => svc.configs[0]?.path ?? "";

export async function stagedSetCheck(set: ConfigSet, svc: ServiceConfig, deps: CheckDeps): Promise<SetCheckReport> {
  const unavailable = await deps.namespaces.unavailable();
  if (!unavailable) return namespaceCheck(set.changed, svc, deps);
  const [only] = set.changed;
  if (set.entries.length === 1 && only?.content) return stagedCopyCheck(only, svc, deps);
  const what = only && !only.content && set.entries.length === 1 ? `removing ${only.spec.path}` : `a set of ${set.entries.length} files`;
  throw failedPrecondition(
    `service ${svc.name}: ${what} is checked at the real paths in a private mount namespace, which this agent cannot create (${unavailable}); ` +
      `set check_mode: live for this service, or run the agent as root; nothing written`,
  );
}

/** Runs the check with {path} = `target`, exactly as given (check_mode: live, after the swap). */
export async function runCheck(svc: ServiceConfig, target: string, deps: Pick<CheckDeps, "runner" | "signal">, wrap = (argv: string[]) => argv): Promise<SetCheckReport> {
  const argv = substitutePath(svc.check!, target);
  const r = await deps.runner.run(wrap(argv), { timeoutMs: svc.timeouts.commandMs, signal: deps.signal });
  const ok = r.exitCode === 0 && !r.timedOut && !r.aborted;
  return { ran: true, ok, exitCode: r.exitCode, output: r.output, durationMs: r.durationMs, argv, timedOut: r.timedOut, aborted: !!r.aborted };
}

async function namespaceCheck(changed: SetEntry[], svc: ServiceConfig, deps: CheckDeps): Promise<SetCheckReport> {
  const staged: { entry: SetEntry; name: string; id: string }[] = [];
  try {
    for (const entry of changed) {
      if (!entry.content) continue;
      const written = await entry.dir.writeTempWithId(entry.name, "staged", entry.content, entry.spec);
      staged.push({ entry, name: written.name, id: `${written.id.dev}:${written.id.ino}` });
    }
    const stagedFile = new Map(staged.map((s) => [s.entry, { path: path.join(s.entry.dir.path, s.name), id: s.id }]));
    const ops = planNamespaceMounts(
      changed.map((e) => ({ live: e.spec.path, liveExists: e.live !== undefined, staged: stagedFile.get(e)?.path, stagedId: stagedFile.get(e)?.id })),
      deps.scratchDir,
    );
    await mkdir(deps.scratchDir, { recursive: true, mode: 0o700 });
    const check = await runCheck(svc, checkTarget(svc), deps, (argv) => inMountNamespace(ops, argv));
    if (check.exitCode === SETUP_FAILED_EXIT && check.output.includes(SETUP_FAILED_MARKER)) {
      throw failedPrecondition(`the check's mount namespace could not be prepared, so the check did not run: ${check.output.trim()}; nothing written (check_mode: live avoids mount namespaces)`);
    }
    return check;
  } finally {
    for (const s of staged) await s.entry.dir.remove(s.name);
  }
}

/** The staged copy is written beside the live file, checked there ({path} = the copy), and always removed. */
async function stagedCopyCheck(entry: SetEntry, svc: ServiceConfig, deps: CheckDeps): Promise<SetCheckReport> {
  const staged = await entry.dir.writeTemp(entry.name, "staged", entry.content!, entry.spec);
  try {
    const check = await runCheck(svc, path.join(entry.dir.path, staged), deps);
    return { ...check, output: check.output.replaceAll(stagedPattern(entry.spec.path), entry.spec.path) };
  } finally {
    await entry.dir.remove(staged);
  }
}

/** The staged file's name, so messages can show the real path instead. */
function stagedPattern(file: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`${escape(path.dirname(file))}/\\.${escape(path.basename(file))}\\.fleet-staged-[0-9a-f]+`, "g");
}

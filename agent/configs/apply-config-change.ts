// A new version of a declared config file: validated before the live file is
// touched (or, for daemons that can only check their live path, swapped,
// checked and restored), installed atomically, then reloaded with evidence.
// Every file operation goes through the verified directory (no symlinks
// followed, temp files only inside it and removed on every failure path).
import path from "node:path";
import type { ConfigFileSpec, ServiceConfig } from "../config/agent-config.js";
import type { ServiceDriver } from "../drivers/service-driver.js";
import type { CommandRunner } from "../process/command-runner.js";
import { checkFailure, performReload, substitutePath, type CheckReport } from "../reload/perform-reload.js";
import type { ConfigChangeReport } from "./config-change-report.js";
import { VerifiedDir, type FileId, type RegularFile } from "./verified-dir.js";
import { sha256, type VersionStore } from "./version-store.js";

export type { ConfigChangeReport } from "./config-change-report.js";

export interface ConfigChangeDeps {
  driver: ServiceDriver;
  runner: CommandRunner;
  versions: VersionStore;
  /** Aborted at shutdown's deadline: a running check is killed (and a live file restored). */
  signal?: AbortSignal;
}

/** The largest previous version read back (for hashing, the version store and restore). */
const MAX_PREVIOUS_BYTES = 64 * 1024 * 1024;
const short = (h: string) => (h ? h.slice(0, 12) : "(none)");
const NO_CHECK: CheckReport = { ran: false, ok: false, exitCode: 0, output: "", durationMs: 0, argv: [] };

export async function applyConfigChange(svc: ServiceConfig, spec: ConfigFileSpec, content: Buffer, allowRestart: boolean, deps: ConfigChangeDeps): Promise<ConfigChangeReport> {
  const dir = await VerifiedDir.open(path.dirname(spec.path));
  try {
    return await changeIn(dir, svc, spec, content, allowRestart, deps);
  } finally {
    await dir.close();
  }
}

async function changeIn(dir: VerifiedDir, svc: ServiceConfig, spec: ConfigFileSpec, content: Buffer, allowRestart: boolean, deps: ConfigChangeDeps): Promise<ConfigChangeReport> {
  const name = path.basename(spec.path);
  const live = await dir.readRegular(name, MAX_PREVIOUS_BYTES);
  const previousSha256 = live ? sha256(live.bytes) : "";
  const newSha256 = sha256(content);
  const base = { service: svc.name, path: spec.path, previousSha256, newSha256 };
  if (previousSha256 === newSha256) {
    return { ...base, change: "unchanged", check: NO_CHECK, ok: true, reason: `${spec.path} already has sha256 ${short(newSha256)}; nothing written, nothing reloaded` };
  }
  if (live) await deps.versions.save(svc.name, spec.path, live.bytes);
  await deps.versions.save(svc.name, spec.path, content);

  const check = svc.check && svc.checkMode === "staged" ? await stagedCheck(dir, name, svc, content, spec, deps) : NO_CHECK;
  if (check.ran && !check.ok) {
    return { ...base, change: "rejected", check, ok: false, reason: `the check refused the new file; the live file was not touched: ${checkFailure(check, svc.timeouts.commandMs).replaceAll(stagedPattern(spec.path), spec.path)}` };
  }
  const installed = await dir.install(name, content, spec, live?.id);
  if (svc.check && svc.checkMode === "live") {
    const liveCheck = await runCheck(svc, spec.path, deps);
    if (!liveCheck.ok) {
      await restore(dir, name, live, installed, spec);
      return { ...base, change: "rejected", check: liveCheck, ok: false, reason: `the check refused the new file; the previous file was restored: ${checkFailure(liveCheck, svc.timeouts.commandMs)}` };
    }
    return reloadAfterInstall(base, liveCheck, svc, allowRestart, deps);
  }
  return reloadAfterInstall(base, check, svc, allowRestart, deps);
}

/** Writes the candidate as a temp file beside the live one, checks it there, and always removes it. */
async function stagedCheck(dir: VerifiedDir, name: string, svc: ServiceConfig, content: Buffer, spec: ConfigFileSpec, deps: ConfigChangeDeps): Promise<CheckReport> {
  const staged = await dir.writeTemp(name, "staged", content, spec);
  try {
    return await runCheck(svc, path.join(dir.path, staged), deps);
  } finally {
    await dir.remove(staged);
  }
}

async function runCheck(svc: ServiceConfig, target: string, deps: ConfigChangeDeps): Promise<CheckReport & { timedOut: boolean; aborted: boolean }> {
  const argv = substitutePath(svc.check!, target);
  const r = await deps.runner.run(argv, { timeoutMs: svc.timeouts.commandMs, signal: deps.signal });
  const ok = r.exitCode === 0 && !r.timedOut && !r.aborted;
  return { ran: true, ok, exitCode: r.exitCode, output: r.output, durationMs: r.durationMs, argv, timedOut: r.timedOut, aborted: !!r.aborted };
}

/** Puts the previous bytes back, or removes the new file if there was none, unless someone replaced it meanwhile. */
async function restore(dir: VerifiedDir, name: string, live: RegularFile | undefined, installed: FileId, spec: ConfigFileSpec) {
  if (live) await dir.install(name, live.bytes, { ...spec, mode: live.mode }, installed);
  else await dir.removeIf(name, installed);
}

async function reloadAfterInstall(base: Omit<ConfigChangeReport, "change" | "check" | "ok" | "reason">, check: CheckReport, svc: ServiceConfig, allowRestart: boolean, deps: ConfigChangeDeps): Promise<ConfigChangeReport> {
  const reportedCheck: CheckReport = { ran: check.ran, ok: check.ok, exitCode: check.exitCode, output: check.output, durationMs: check.durationMs, argv: check.argv };
  const reload = await performReload(svc, deps.driver, deps.runner, { allowRestart, skipCheck: true, signal: deps.signal });
  reload.evidence.check = reportedCheck;
  const from = `${short(base.previousSha256)} -> ${short(base.newSha256)}`;
  return {
    ...base,
    change: "installed",
    check: reportedCheck,
    reload,
    ok: reload.ok,
    reason: reload.ok ? `installed ${from}; ${reload.outcome}` : `installed ${from} but the reload was ${reload.outcome}: ${reload.reason}`,
  };
}

/** The staged file's name, so messages can show the real path instead. */
function stagedPattern(file: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`${escape(path.dirname(file))}/\\.${escape(path.basename(file))}\\.fleet-staged-[0-9a-f]+`, "g");
}

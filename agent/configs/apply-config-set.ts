// A new version of a set of a service's declared config files (a single file
// is a set of one): validated together before any live file is touched (or,
// for daemons that can only check their live paths, all swapped, checked and
// all restored), each installed atomically, then one reload with evidence.
// When asked, a reload that fails puts every file back and reloads again.
// Every file operation goes through the set's verified directories.
import { FleetError } from "../../common/errors.js";
import type { ServiceConfig } from "../config/agent-config.js";
import type { ServiceDriver } from "../drivers/service-driver.js";
import { checkFailure, performReload, type CheckReport, type ReloadReport } from "../reload/perform-reload.js";
import { checkTarget, runCheck, stagedSetCheck, type CheckDeps } from "./check-config-set.js";
import type { ChangeKind, ConfigChangeReport } from "./config-change-report.js";
import { ConfigSet, entryChanged, restoreEntry, writeEntry, type RequestedFile } from "./config-set.js";
import type { VersionStore } from "./version-store.js";

export type { ConfigChangeReport } from "./config-change-report.js";

export interface ConfigChangeDeps extends CheckDeps {
  driver: ServiceDriver;
  versions: VersionStore;
  /** Right before the first live file is touched: rejects when the caller may no longer act (fenced meanwhile). */
  commit?: () => Promise<void>;
}

export interface ChangeOptions {
  allowRestart: boolean;
  /** A failed reload after the install restores every file and reloads again. */
  restoreOnFailure: boolean;
}

const short = (h: string) => (h ? h.slice(0, 12) : "(none)");
const NO_CHECK: CheckReport = { ran: false, ok: false, exitCode: 0, output: "", durationMs: 0, argv: [] };
const publicCheck = (c: CheckReport): CheckReport => ({ ran: c.ran, ok: c.ok, exitCode: c.exitCode, output: c.output, durationMs: c.durationMs, argv: c.argv });

export async function applyConfigSet(svc: ServiceConfig, files: RequestedFile[], opts: ChangeOptions, deps: ConfigChangeDeps): Promise<ConfigChangeReport> {
  const set = await ConfigSet.open(files);
  try {
    return await changeSet(set, svc, opts, deps);
  } finally {
    await set.close();
  }
}

async function changeSet(set: ConfigSet, svc: ServiceConfig, opts: ChangeOptions, deps: ConfigChangeDeps): Promise<ConfigChangeReport> {
  const report = reportOf(set, svc);
  const words = wording(set);
  if (!set.changed.length) return report("unchanged", NO_CHECK, { ok: true, reason: `${words.already}; nothing written, nothing reloaded` });
  await keepVersions(set, svc, deps.versions);

  const staged = svc.check && svc.checkMode === "staged" ? await stagedSetCheck(set, svc, deps) : NO_CHECK;
  if (staged.ran && !staged.ok) {
    return report("rejected", staged, { ok: false, reason: `the check refused ${words.theNew}; ${words.untouched}: ${checkFailure(staged, svc.timeouts.commandMs)}` });
  }
  // The check may have taken long: whoever asked is judged again before anything live changes.
  await deps.commit?.();
  await installAll(set);
  let check: CheckReport = staged;
  if (svc.check && svc.checkMode === "live") {
    check = await runCheck(svc, checkTarget(svc), deps);
    if (!check.ok) {
      const failures = await restoreAll(set);
      return report("rejected", check, { ok: false, reason: `the check refused ${words.theNew}; ${words.restoredAll}${failures}: ${checkFailure(check, svc.timeouts.commandMs)}` });
    }
  }
  return reloadInstalled(set, svc, check, opts, deps, report);
}

type Report = (change: ChangeKind, check: CheckReport, rest: { ok: boolean; reason: string; reload?: ReloadReport; restored?: boolean; restoreReload?: ReloadReport }) => ConfigChangeReport;

function reportOf(set: ConfigSet, svc: ServiceConfig): Report {
  const one = set.entries.length === 1 ? set.entries[0]! : undefined;
  return (change, check, rest) => ({
    service: svc.name,
    path: one?.spec.path ?? "",
    previousSha256: one?.previousSha256 ?? "",
    newSha256: one?.newSha256 ?? "",
    change,
    check: publicCheck(check),
    files: set.entries.map((e) => ({ path: e.spec.path, previousSha256: e.previousSha256, newSha256: e.newSha256, change: entryChanged(e) ? change : "unchanged" })),
    restored: false,
    ...rest,
  });
}

/** Messages name "the new file" for a set of one, as they always did, and the set otherwise. */
function wording(set: ConfigSet) {
  const n = set.entries.length;
  if (n === 1) {
    const e = set.entries[0]!;
    return { already: `${e.spec.path} already has sha256 ${short(e.newSha256)}`, theNew: "the new file", untouched: "the live file was not touched", restoredAll: "the previous file was restored" };
  }
  return { already: `all ${n} files already have these hashes`, theNew: `the new set of ${n} files`, untouched: "no live file was touched", restoredAll: "every file of the set was restored" };
}

/** Before anything is written: the live versions, so a rollback can return to them. */
async function keepVersions(set: ConfigSet, svc: ServiceConfig, versions: VersionStore): Promise<void> {
  for (const e of set.changed) {
    if (e.live) await versions.save(svc.name, e.spec.path, e.live.bytes);
  }
}

/**
 * Once the new files stay live: their versions. Not earlier, so a version the
 * check refused (or that was restored) never counts toward keep_versions.
 * The change itself has happened; a failure here is reported, not thrown.
 */
async function keepNewVersions(set: ConfigSet, svc: ServiceConfig, versions: VersionStore): Promise<string> {
  try {
    for (const e of set.changed) {
      if (e.content) await versions.save(svc.name, e.spec.path, e.content);
    }
    return "";
  } catch (err) {
    return `; warning: the new version was not kept for rollback (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** Installs every changed file; if one cannot be, the ones already installed are put back before the error is reported. */
async function installAll(set: ConfigSet): Promise<void> {
  for (const e of set.changed) {
    try {
      await writeEntry(e);
    } catch (err) {
      const failures = await restoreAll(set);
      const message = `${err instanceof Error ? err.message : String(err)}; ${failures ? `restoring the rest failed${failures}` : "the files of the set already installed were restored"}`;
      throw err instanceof FleetError ? new FleetError(err.kind, message, { cause: err }) : new Error(message, { cause: err });
    }
  }
}

/** Puts back every written file (last first); returns "" or the failures, e.g. " (except /etc/x: ...)". */
async function restoreAll(set: ConfigSet): Promise<string> {
  const failed: string[] = [];
  for (const e of [...set.entries].reverse()) {
    await restoreEntry(e).catch((err: Error) => failed.push(`${e.spec.path}: ${err.message}`));
  }
  return failed.length ? ` (except ${failed.join("; ")})` : "";
}

async function reloadInstalled(set: ConfigSet, svc: ServiceConfig, check: CheckReport, opts: ChangeOptions, deps: ConfigChangeDeps, report: Report): Promise<ConfigChangeReport> {
  const reload = await reloadOnce(svc, check, opts, deps);
  const from = set.entries.length === 1 ? `${short(set.entries[0]!.previousSha256)} -> ${short(set.entries[0]!.newSha256)}` : `${set.changed.length} of ${set.entries.length} files`;
  if (reload.ok) return report("installed", check, { ok: true, reload, reason: `installed ${from}; ${reload.outcome}${await keepNewVersions(set, svc, deps.versions)}` });
  const failed = `installed ${from} but the reload was ${reload.outcome}: ${reload.reason}`;
  if (!opts.restoreOnFailure) return report("installed", check, { ok: false, reload, reason: `${failed}${await keepNewVersions(set, svc, deps.versions)}` });
  const failures = await restoreAll(set);
  const restoreReload = await reloadOnce(svc, NO_CHECK, opts, deps);
  const again = restoreReload.ok ? `reloaded again: ${restoreReload.outcome}` : `the reload after the restore was ${restoreReload.outcome}: ${restoreReload.reason}`;
  return report("installed", check, { ok: false, reload, restored: true, restoreReload, reason: `${failed}; ${wording(set).restoredAll}${failures} and ${again}` });
}

async function reloadOnce(svc: ServiceConfig, check: CheckReport, opts: ChangeOptions, deps: ConfigChangeDeps): Promise<ReloadReport> {
  const reload = await performReload(svc, deps.driver, deps.runner, { allowRestart: opts.allowRestart, skipCheck: true, signal: deps.signal });
  reload.evidence.check = publicCheck(check);
  return reload;
}

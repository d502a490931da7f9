// A new version of a declared config file: validated before the live file is
// touched (or, for daemons that can only check their live path, swapped,
// checked and restored), installed atomically, then reloaded with evidence.
import { readFile, rm } from "node:fs/promises";
import type { ConfigFileSpec, ServiceConfig } from "../config/agent-config.js";
import type { ServiceDriver } from "../drivers/service-driver.js";
import type { CommandRunner } from "../process/command-runner.js";
import { checkFailure, performReload, substitutePath, type CheckReport, type ReloadReport } from "../reload/perform-reload.js";
import { installAtomically, siblingTemp, writeFileDurably } from "./atomic-install.js";
import { sha256, type VersionStore } from "./version-store.js";

export interface ConfigChangeReport {
  service: string;
  path: string;
  change: "unchanged" | "installed" | "rejected";
  previousSha256: string;
  newSha256: string;
  check: CheckReport;
  reload?: ReloadReport;
  ok: boolean;
  reason: string;
}

export interface ConfigChangeDeps {
  driver: ServiceDriver;
  runner: CommandRunner;
  versions: VersionStore;
}

const short = (h: string) => (h ? h.slice(0, 12) : "(none)");

export async function applyConfigChange(svc: ServiceConfig, spec: ConfigFileSpec, content: Buffer, allowRestart: boolean, deps: ConfigChangeDeps): Promise<ConfigChangeReport> {
  const live = await readFile(spec.path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  const previousSha256 = live ? sha256(live) : "";
  const newSha256 = sha256(content);
  const base = { service: svc.name, path: spec.path, previousSha256, newSha256 };
  const noCheck: CheckReport = { ran: false, ok: false, exitCode: 0, output: "", durationMs: 0, argv: [] };
  if (previousSha256 === newSha256) {
    return { ...base, change: "unchanged", check: noCheck, ok: true, reason: `${spec.path} already has sha256 ${short(newSha256)}; nothing written, nothing reloaded` };
  }
  if (live) await deps.versions.save(svc.name, spec.path, live);
  await deps.versions.save(svc.name, spec.path, content);

  const runCheck = async (target: string): Promise<CheckReport> => {
    const argv = substitutePath(svc.check!, target);
    const r = await deps.runner.run(argv, { timeoutMs: svc.timeouts.commandMs });
    return { ran: true, ok: r.exitCode === 0 && !r.timedOut, exitCode: r.exitCode, output: r.output, durationMs: r.durationMs, argv, timedOut: r.timedOut };
  };
  const restore = async () => (live ? installAtomically(spec, live) : rm(spec.path, { force: true }));

  let check = noCheck;
  if (svc.check && svc.checkMode === "staged") {
    const staged = siblingTemp(spec.path, "staged");
    try {
      await writeFileDurably(staged, content, spec);
      check = await runCheck(staged);
    } finally {
      await rm(staged, { force: true });
    }
    if (!check.ok) {
      return { ...base, change: "rejected", check, ok: false, reason: `the check refused the new file; the live file was not touched: ${checkFailure({ ...check, output: check.output.replaceAll(siblingPrefix(spec.path), spec.path) }, svc.timeouts.commandMs)}` };
    }
    await installAtomically(spec, content);
  } else {
    await installAtomically(spec, content);
    if (svc.check) {
      check = await runCheck(spec.path);
      if (!check.ok) {
        await restore();
        return { ...base, change: "rejected", check, ok: false, reason: `the check refused the new file; the previous file was restored: ${checkFailure(check, svc.timeouts.commandMs)}` };
      }
    }
  }

  const reload = await performReload(svc, deps.driver, deps.runner, { allowRestart, skipCheck: true });
  reload.evidence.check = check;
  return {
    ...base,
    change: "installed",
    check,
    reload,
    ok: reload.ok,
    reason: reload.ok
      ? `installed ${short(previousSha256)} -> ${short(newSha256)}; ${reload.outcome}`
      : `installed ${short(previousSha256)} -> ${short(newSha256)} but the reload was ${reload.outcome}: ${reload.reason}`,
  };
}

/** The staged file's name, so messages can show the real path instead. */
function siblingPrefix(file: string): RegExp {
  const dir = file.slice(0, file.lastIndexOf("/") + 1);
  const base = file.slice(file.lastIndexOf("/") + 1);
  return new RegExp(`${escape(dir)}\\.${escape(base)}\\.fleet-staged-[0-9a-f]+`, "g");
}
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

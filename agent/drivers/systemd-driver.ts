import type { ReloadSpec } from "../config/agent-config.js";
import { procFsInspector, type ProcessInspector } from "../process/process-inspector.js";
import { execReloadArgv, execReloadSignal } from "./exec-reload-signal.js";
import { locateMain } from "./locate-main.js";
import { guardRefusal, type DriverDeps, type MainProcess, type ServiceDriver } from "./service-driver.js";
import { signalRefusal } from "./target-identity.js";

export function systemdDriver(spec: Extract<ReloadSpec, { method: "systemd" }>, given: DriverDeps): ServiceDriver {
  const deps = { ...given, inspector: given.inspector ?? procFsInspector };
  const action = `systemctl reload ${spec.unit}`;
  return {
    method: "systemd",
    summary: action,
    locate: (need) => locateMain({ kind: "unit", unit: spec.unit }, deps.systemd, deps.inspector, need),
    async preflight(main) {
      const unit = await deps.systemd.show(spec.unit);
      if (unit.canReload) return main ? handlerRefusal(spec.unit, unit.execReload, main, deps.inspector) : undefined;
      // Ask systemd itself so the operator reads systemd's own reason; a reload
      // job that is not applicable changes nothing.
      const r = await deps.systemd.reload(spec.unit, 10_000);
      return `unit ${spec.unit} cannot reload (CanReload=no: it has no ExecReload=); systemd says: ${r.output || `exit ${r.exitCode}`}`;
    },
    async trigger(_main, { timeoutMs, signal, guard }) {
      const refused = await guardRefusal(action, guard);
      if (refused) return refused;
      const r = await deps.systemd.reload(spec.unit, timeoutMs);
      if (signal?.aborted) return { ok: false, outcome: "failed", action, reason: "aborted" };
      if (r.timedOut) return { ok: false, outcome: "failed", action, reason: `${action} did not finish within ${timeoutMs}ms` };
      // The job's result is the exit status; systemd's record of the reload says why.
      const last = await deps.systemd.lastReload(spec.unit);
      const recorded = [last.reloadResult && `ReloadResult=${last.reloadResult}`, last.execReload && `ExecReload ${last.execReload}`].filter(Boolean).join(", ");
      if (r.exitCode !== 0) return { ok: false, outcome: "failed", action, reason: `${action} failed (exit ${r.exitCode}): ${r.output.split("\n")[0] || "no output"}${recorded ? ` (${recorded})` : ""}` };
      if (last.reloadResult && last.reloadResult !== "success") return { ok: false, outcome: "failed", action, reason: `${action} returned but systemd records the reload as failed (${recorded})` };
      return { ok: true, action, output: [r.output, recorded].filter(Boolean).join("\n") };
    },
  };
}

/**
 * An ExecReload= that only sends the main process a signal (`kill -HUP $MAINPID`) gets the
 * signal method's check: a main process with no handler for it (not yet installed at start-up,
 * or a daemon that does not reload on it) would be killed or ignore it, so nothing is sent.
 */
async function handlerRefusal(unit: string, execReload: string, main: MainProcess, inspector: ProcessInspector): Promise<string | undefined> {
  const argv = execReloadArgv(execReload);
  const signal = argv && execReloadSignal(argv);
  if (!signal) return undefined;
  const p = await inspector.inspect(main.pid, { command: false, exeId: false }); // its signal dispositions only
  if (!p || p.startTime !== main.startTime) return undefined; // gone or replaced: the identity checks after the reload say so
  const refusal = signalRefusal(p, signal);
  return refusal ? `unit ${unit}'s ExecReload= (${argv!.join(" ")}) sends SIG${signal} to its main process, but ${refusal}; nothing was sent` : undefined;
}

import type { ReloadSpec } from "../config/agent-config.js";
import { locateMain } from "./locate-main.js";
import type { DriverDeps, ServiceDriver } from "./service-driver.js";

export function systemdDriver(spec: Extract<ReloadSpec, { method: "systemd" }>, deps: DriverDeps): ServiceDriver {
  const action = `systemctl reload ${spec.unit}`;
  return {
    method: "systemd",
    summary: action,
    locate: () => locateMain({ kind: "unit", unit: spec.unit }, deps.systemd),
    async preflight() {
      const unit = await deps.systemd.show(spec.unit);
      if (unit.canReload) return undefined;
      // Ask systemd itself so the operator reads systemd's own reason; a reload
      // job that is not applicable changes nothing.
      const r = await deps.systemd.reload(spec.unit, 10_000);
      return `unit ${spec.unit} cannot reload (CanReload=no: it has no ExecReload=); systemd says: ${r.output || `exit ${r.exitCode}`}`;
    },
    async trigger(_main, { timeoutMs, signal }) {
      const r = await deps.systemd.reload(spec.unit, timeoutMs);
      if (signal?.aborted) return { ok: false, outcome: "failed", action, reason: "aborted" };
      if (r.timedOut) return { ok: false, outcome: "failed", action, reason: `${action} did not finish within ${timeoutMs}ms` };
      if (r.exitCode !== 0) return { ok: false, outcome: "failed", action, reason: `${action} failed (exit ${r.exitCode}): ${r.output}` };
      return { ok: true, action, output: r.output };
    },
  };
}

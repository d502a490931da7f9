import type { ReloadSpec } from "../config/agent-config.js";
import { procFsInspector } from "../process/process-inspector.js";
import { locateMain } from "./locate-main.js";
import { sendSignal } from "./send-signal.js";
import type { DriverDeps, ServiceDriver } from "./service-driver.js";

export function signalDriver(spec: Extract<ReloadSpec, { method: "signal" }>, given: DriverDeps): ServiceDriver {
  const deps = { ...given, inspector: given.inspector ?? procFsInspector };
  const t = spec.target;
  const where = t.kind === "pidfile" ? `the pid in ${t.path}` : t.kind === "process" ? `the process matching ${JSON.stringify(t.match)}` : `the MainPID of ${t.unit}`;
  return {
    method: "signal",
    signal: spec.signal,
    summary: `SIG${spec.signal} to ${where}`,
    locate: (need) => locateMain(t, deps.systemd, deps.inspector, need),
    preflight: async () => undefined,
    async trigger(main, { guard }) {
      if (!main) return { ok: false, outcome: "failed", action: "signal", reason: "main process unknown" };
      return sendSignal(main, spec.signal, deps.inspector, guard);
    },
  };
}

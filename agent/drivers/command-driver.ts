import type { ReloadSpec } from "../config/agent-config.js";
import { procFsInspector } from "../process/process-inspector.js";
import { locateMain } from "./locate-main.js";
import { guardRefusal, type DriverDeps, type ServiceDriver } from "./service-driver.js";

export function commandDriver(spec: Extract<ReloadSpec, { method: "command" }>, given: DriverDeps): ServiceDriver {
  const deps = { ...given, inspector: given.inspector ?? procFsInspector };
  const action = spec.argv.join(" ");
  return {
    method: "command",
    summary: `run ${action}`,
    locate: async (need) => (spec.target ? locateMain(spec.target, deps.systemd, deps.inspector, need) : undefined),
    preflight: async () => undefined,
    async trigger(_main, { timeoutMs, signal, guard }) {
      const refused = await guardRefusal(action, guard);
      if (refused) return refused;
      const r = await deps.runner.run(spec.argv, { timeoutMs, signal });
      if (r.timedOut) return { ok: false, outcome: "failed", action, reason: `${action} did not finish within ${timeoutMs}ms` };
      if (r.exitCode !== 0) return { ok: false, outcome: "failed", action, reason: `${action} failed (exit ${r.exitCode}): ${r.output}` };
      return { ok: true, action, output: r.output };
    },
  };
}

import type { ReloadSpec } from "../config/agent-config.js";
import { locateMain } from "./locate-main.js";
import type { DriverDeps, ServiceDriver } from "./service-driver.js";

export function commandDriver(spec: Extract<ReloadSpec, { method: "command" }>, deps: DriverDeps): ServiceDriver {
  const action = spec.argv.join(" ");
  return {
    method: "command",
    summary: `run ${action}`,
    locate: async () => (spec.target ? locateMain(spec.target, deps.systemd) : undefined),
    preflight: async () => undefined,
    async trigger(_main, { timeoutMs, signal }) {
      const r = await deps.runner.run(spec.argv, { timeoutMs, signal });
      if (r.timedOut) return { ok: false, outcome: "failed", action, reason: `${action} did not finish within ${timeoutMs}ms` };
      if (r.exitCode !== 0) return { ok: false, outcome: "failed", action, reason: `${action} failed (exit ${r.exitCode}): ${r.output}` };
      return { ok: true, action, output: r.output };
    },
  };
}

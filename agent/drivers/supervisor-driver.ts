// supervisord programs: supervisorctl finds the pid and delivers the signal.
import type { ReloadSpec } from "../config/agent-config.js";
import { procFsInspector } from "../process/process-inspector.js";
import { fromPid } from "./locate-main.js";
import { guardRefusal, type DriverDeps, type ServiceDriver } from "./service-driver.js";

export const SUPERVISORCTL = "/usr/bin/supervisorctl";

export function supervisorArgv(spec: Extract<ReloadSpec, { method: "supervisor" }>, ...args: string[]): string[] {
  return [SUPERVISORCTL, ...(spec.config ? ["-c", spec.config] : []), ...args];
}

export function supervisorDriver(spec: Extract<ReloadSpec, { method: "supervisor" }>, given: DriverDeps): ServiceDriver {
  const deps = { ...given, inspector: given.inspector ?? procFsInspector };
  const signalArgv = supervisorArgv(spec, "signal", spec.signal, spec.program);
  const action = signalArgv.join(" ");
  return {
    method: "supervisor",
    signal: spec.signal,
    summary: `supervisorctl signal ${spec.signal} ${spec.program}`,
    async locate(need) {
      const r = await deps.runner.run(supervisorArgv(spec, "pid", spec.program), { timeoutMs: 10_000 });
      const pid = Number(r.output.trim());
      if (r.spawnError || r.timedOut || !Number.isInteger(pid)) {
        return { state: "error", reason: `supervisorctl pid ${spec.program}: ${r.timedOut ? "timed out" : r.output || `exit ${r.exitCode}`}` };
      }
      if (pid === 0) return { state: "not_running", reason: `supervisor program ${spec.program} is not running` };
      return fromPid(pid, `supervisor program ${spec.program} pid ${pid} is gone`, deps.inspector, need);
    },
    preflight: async () => undefined,
    async trigger(_main, { timeoutMs, signal, guard }) {
      const refused = await guardRefusal(action, guard);
      if (refused) return refused;
      const r = await deps.runner.run(signalArgv, { timeoutMs, signal });
      // supervisorctl prints "PROGRAM: ERROR (...)" and may still exit 0 on older releases.
      if (r.timedOut) return { ok: false, outcome: "failed", action, reason: `${action} did not finish within ${timeoutMs}ms` };
      if (r.exitCode !== 0 || /ERROR/.test(r.output)) return { ok: false, outcome: "failed", action, reason: `${action}: ${r.output || `exit ${r.exitCode}`}` };
      return { ok: true, action, output: r.output };
    },
  };
}

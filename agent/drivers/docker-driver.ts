// Docker containers: `docker kill --signal` delivers to the container's PID 1.
import type { ReloadSpec } from "../config/agent-config.js";
import { procFsInspector } from "../process/process-inspector.js";
import { fromPid } from "./locate-main.js";
import { guardRefusal, type DriverDeps, type ServiceDriver } from "./service-driver.js";

export const DOCKER = "/usr/bin/docker";

export function dockerKillArgv(spec: Extract<ReloadSpec, { method: "docker" }>): string[] {
  return [DOCKER, "kill", `--signal=${spec.signal}`, "--", spec.container];
}

export function dockerDriver(spec: Extract<ReloadSpec, { method: "docker" }>, given: DriverDeps): ServiceDriver {
  const deps = { ...given, inspector: given.inspector ?? procFsInspector };
  const killArgv = dockerKillArgv(spec);
  const action = killArgv.join(" ");
  return {
    method: "docker",
    signal: spec.signal,
    summary: `docker kill --signal=${spec.signal} ${spec.container}`,
    async locate(need) {
      const r = await deps.runner.run([DOCKER, "inspect", "--format", "{{.State.Running}} {{.State.Pid}}", "--", spec.container], { timeoutMs: 10_000 });
      if (r.exitCode !== 0 || r.timedOut) return { state: "error", reason: `docker inspect ${spec.container}: ${r.timedOut ? "timed out" : r.output || `exit ${r.exitCode}`}` };
      const [running, pid] = r.output.trim().split(" ");
      if (running !== "true") return { state: "not_running", reason: `container ${spec.container} is not running` };
      return fromPid(Number(pid), `container ${spec.container} pid ${pid} is gone`, deps.inspector, need);
    },
    preflight: async () => undefined,
    async trigger(_main, { timeoutMs, signal, guard }) {
      const refused = await guardRefusal(action, guard);
      if (refused) return refused;
      const r = await deps.runner.run(killArgv, { timeoutMs, signal });
      if (r.timedOut) return { ok: false, outcome: "failed", action, reason: `${action} did not finish within ${timeoutMs}ms` };
      if (r.exitCode !== 0) return { ok: false, outcome: "failed", action, reason: `${action}: ${r.output || `exit ${r.exitCode}`}` };
      return { ok: true, action, output: r.output };
    },
  };
}

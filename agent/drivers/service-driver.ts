// A service driver knows how one reload method finds the main process and
// sends the reload. Everything else (checks, probes, evidence) is shared.
import type { ReloadSignal, ReloadSpec } from "../config/agent-config.js";
import type { CommandRunner } from "../process/command-runner.js";
import type { FactsNeeded, ProcessFacts, ProcessInspector } from "../process/process-inspector.js";
import type { SystemdClient } from "../process/systemd-client.js";
import { commandDriver } from "./command-driver.js";
import { dockerDriver } from "./docker-driver.js";
import { signalDriver } from "./signal-driver.js";
import { supervisorDriver } from "./supervisor-driver.js";
import { systemdDriver } from "./systemd-driver.js";

export interface MainProcess {
  pid: number;
  startTime: number;
  uid: number;
  command: string;
  invocationId?: string;
  nRestarts?: number;
}

export type Located =
  | { state: "running"; main: MainProcess; facts: ProcessFacts }
  | { state: "not_running"; reason: string }
  | { state: "error"; reason: string };

export type TriggerResult =
  | { ok: true; action: string; output?: string }
  | { ok: false; outcome: "refused" | "failed" | "not_running"; action: string; reason: string };

/** Re-checks the target right before anything is sent: a refusal, or undefined to go ahead. */
export type TargetGuard = () => Promise<{ outcome: "refused" | "not_running" | "failed"; reason: string } | undefined>;

export interface ServiceDriver {
  readonly method: ReloadSpec["method"];
  /** The signal this method delivers to the main process, when it delivers one (the process must handle it). */
  readonly signal?: ReloadSignal;
  /** One line for Describe, e.g. "HUP to the pid in /run/nginx.pid". */
  readonly summary: string;
  /** Finds the process whose identity a reload must keep; undefined target = cannot tell. */
  /** `need`: which of the facts that may wait to read (see ProcessInspector.inspect); all by default. */
  locate(need?: FactsNeeded): Promise<Located | undefined>;
  /** Refuses, before anything is touched, what cannot reload. */
  preflight(main: MainProcess | undefined): Promise<string | undefined>;
  trigger(main: MainProcess | undefined, options: { timeoutMs: number; signal?: AbortSignal; guard?: TargetGuard }): Promise<TriggerResult>;
}

export interface DriverDeps {
  runner: CommandRunner;
  systemd: SystemdClient;
  /** /proc by default. */
  inspector?: ProcessInspector;
}

/** Runs the target guard; a refusal becomes the trigger's result and nothing is sent. */
export async function guardRefusal(action: string, guard: TargetGuard | undefined): Promise<TriggerResult | undefined> {
  const refused = await guard?.();
  return refused ? { ok: false, action, ...refused } : undefined;
}

export function createServiceDriver(spec: ReloadSpec, deps: DriverDeps): ServiceDriver {
  switch (spec.method) {
    case "signal":
      return signalDriver(spec, deps);
    case "systemd":
      return systemdDriver(spec, deps);
    case "command":
      return commandDriver(spec, deps);
    case "supervisor":
      return supervisorDriver(spec, deps);
    case "docker":
      return dockerDriver(spec, deps);
  }
}

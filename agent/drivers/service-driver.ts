// A service driver knows how one reload method finds the main process and
// sends the reload. Everything else (checks, probes, evidence) is shared.
import type { ReloadSpec } from "../config/agent-config.js";
import type { CommandRunner } from "../process/command-runner.js";
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
  | { state: "running"; main: MainProcess }
  | { state: "not_running"; reason: string }
  | { state: "error"; reason: string };

export type TriggerResult =
  | { ok: true; action: string; output?: string }
  | { ok: false; outcome: "refused" | "failed"; action: string; reason: string };

export interface ServiceDriver {
  readonly method: ReloadSpec["method"];
  /** One line for Describe, e.g. "HUP to the pid in /run/nginx.pid". */
  readonly summary: string;
  /** Finds the process whose identity a reload must keep; undefined target = cannot tell. */
  locate(): Promise<Located | undefined>;
  /** Refuses, before anything is touched, what cannot reload. */
  preflight(main: MainProcess | undefined): Promise<string | undefined>;
  trigger(main: MainProcess | undefined, options: { timeoutMs: number; signal?: AbortSignal }): Promise<TriggerResult>;
}

export interface DriverDeps {
  runner: CommandRunner;
  systemd: SystemdClient;
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

// systemctl through the command runner: unit properties and reloads.
import type { CommandRunner } from "./command-runner.js";

export interface UnitState {
  activeState: string;
  subState: string;
  mainPid: number;
  invocationId: string;
  nRestarts: number;
  canReload: boolean;
  loadState: string;
}

export class SystemdClient {
  constructor(
    private readonly runner: CommandRunner,
    private readonly timeoutMs = 10_000,
  ) {}

  async show(unit: string): Promise<UnitState> {
    const r = await this.runner.run(
      ["/usr/bin/systemctl", "show", "--property=ActiveState,SubState,MainPID,InvocationID,NRestarts,CanReload,LoadState", "--", unit],
      { timeoutMs: this.timeoutMs },
    );
    if (r.exitCode !== 0) throw new Error(`systemctl show ${unit} failed: ${r.output || `exit ${r.exitCode}`}`);
    const props = new Map(r.output.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
    return {
      activeState: props.get("ActiveState") ?? "unknown",
      subState: props.get("SubState") ?? "unknown",
      mainPid: Number(props.get("MainPID") ?? 0),
      invocationId: props.get("InvocationID") ?? "",
      nRestarts: Number(props.get("NRestarts") ?? 0) || 0,
      canReload: props.get("CanReload") === "yes",
      loadState: props.get("LoadState") ?? "unknown",
    };
  }

  reload(unit: string, timeoutMs: number) {
    return this.runner.run(["/usr/bin/systemctl", "reload", "--", unit], { timeoutMs });
  }
}

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
  /** The raw ExecReload= property: one "{ path=... ; argv[]=... }" per command ("" for none). */
  execReload: string;
}

export class SystemdClient {
  constructor(
    private readonly runner: CommandRunner,
    private readonly timeoutMs = 10_000,
  ) {}

  async show(unit: string): Promise<UnitState> {
    const r = await this.runner.run(
      ["/usr/bin/systemctl", "show", "--property=ActiveState,SubState,MainPID,InvocationID,NRestarts,CanReload,LoadState,ExecReload", "--", unit],
      { timeoutMs: this.timeoutMs },
    );
    if (r.exitCode !== 0) throw new Error(`systemctl show ${unit} failed: ${r.output || `exit ${r.exitCode}`}`);
    const lines = r.output.split("\n");
    const props = new Map(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
    return {
      activeState: props.get("ActiveState") ?? "unknown",
      subState: props.get("SubState") ?? "unknown",
      mainPid: Number(props.get("MainPID") ?? 0),
      invocationId: props.get("InvocationID") ?? "",
      nRestarts: Number(props.get("NRestarts") ?? 0) || 0,
      canReload: props.get("CanReload") === "yes",
      loadState: props.get("LoadState") ?? "unknown",
      // Several commands come as several lines.
      execReload: lines.filter((l) => l.startsWith("ExecReload=")).map((l) => l.slice("ExecReload=".length)).join(" "),
    };
  }

  /**
   * What systemd recorded about the unit's last reload: ReloadResult (empty
   * where this systemd lacks it) and how its ExecReload= command ended.
   */
  async lastReload(unit: string): Promise<{ reloadResult: string; execReload: string }> {
    const r = await this.runner.run(["/usr/bin/systemctl", "show", "--property=ReloadResult,ExecReload", "--", unit], { timeoutMs: this.timeoutMs });
    if (r.exitCode !== 0) return { reloadResult: "", execReload: "" };
    const line = (name: string) => r.output.split("\n").find((l) => l.startsWith(`${name}=`))?.slice(name.length + 1) ?? "";
    return { reloadResult: line("ReloadResult"), execReload: describeExec(line("ExecReload")) };
  }

  reload(unit: string, timeoutMs: number) {
    return this.runner.run(["/usr/bin/systemctl", "reload", "--", unit], { timeoutMs });
  }
}

/** "{ path=/bin/kill ; argv[]=... ; code=exited ; status=1 }" -> "/bin/kill exited with status 1". */
export function describeExec(prop: string): string {
  const field = (k: string) => new RegExp(`(?:^|[{;]) ?${k.replace("[", "\\[").replace("]", "\\]")}=([^;]*?) ?(?:;|}|$)`).exec(prop)?.[1]?.trim() ?? "";
  const path = field("path");
  const code = field("code");
  const status = field("status");
  if (!path) return "";
  if (!code || code === "(null)") return `${path} (not run yet)`;
  return code === "exited" ? `${path} exited with status ${status}` : `${path} ${code} (${status})`;
}

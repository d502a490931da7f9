// Which reload signal a unit's ExecReload= sends to its main process, when
// that is all it does (`kill -HUP $MAINPID`, the common form): then the
// systemd method can refuse, as the signal method does, a main process that
// has no handler for it — such a "reload" would kill the service. Pure.
import { RELOAD_SIGNALS, type ReloadSignal } from "../config/agent-config.js";

const BY_NUMBER: Record<string, ReloadSignal> = { "1": "HUP", "10": "USR1", "12": "USR2", "28": "WINCH" };
const MAIN_PID = new Set(["$MAINPID", "${MAINPID}"]);

/** `kill -HUP $MAINPID` -> HUP; anything else (another command, another target, several commands) -> undefined. */
export function execReloadSignal(argv: string[]): ReloadSignal | undefined {
  const [cmd, ...args] = argv;
  if (!cmd || cmd.split("/").pop() !== "kill") return undefined;
  let signal: string | undefined;
  const targets: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-s" || a === "--signal") signal = args[++i];
    else if (a.startsWith("--signal=")) signal = a.slice("--signal=".length);
    else if (a.startsWith("-") && a.length > 1) signal = a.slice(1);
    else targets.push(a);
  }
  if (signal === undefined || targets.length !== 1 || !MAIN_PID.has(targets[0]!)) return undefined;
  const name = signal.toUpperCase().replace(/^SIG/, "");
  if (BY_NUMBER[name]) return BY_NUMBER[name];
  return (RELOAD_SIGNALS as readonly string[]).includes(name) ? (name as ReloadSignal) : undefined;
}

/**
 * The argv of a unit's only ExecReload= command from `systemctl show -p ExecReload`
 * ("{ path=/bin/kill ; argv[]=/bin/kill -HUP $MAINPID ; ... }"); undefined for none or several.
 */
export function execReloadArgv(prop: string): string[] | undefined {
  const commands = prop.match(/\{[^}]*\}/g) ?? [];
  if (commands.length !== 1) return undefined;
  const argv = /argv\[\]=([^;]*?) ?(?:;|\})/.exec(commands[0]!)?.[1]?.trim();
  return argv ? argv.split(/\s+/) : undefined;
}

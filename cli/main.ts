// fleet: the operator's command line. One module per command under commands/; each handler
// returns its exit code, and errors that reach here are mapped to theirs in one place.
import { Command } from "commander";
import { handlerExitCode } from "./command-action.js";
import { abortCommand } from "./commands/abort-command.js";
import { agentCommand } from "./commands/agent-command.js";
import { certsCommand } from "./commands/certs-command.js";
import { controllerCommand } from "./commands/controller-command.js";
import { demoCommand } from "./commands/demo-command.js";
import { driftCommand } from "./commands/drift-command.js";
import { followCommand } from "./commands/follow-command.js";
import { historyCommand } from "./commands/history-command.js";
import { promoteCommand } from "./commands/promote-command.js";
import { reloadCommand } from "./commands/reload-command.js";
import { resumeCommand } from "./commands/resume-command.js";
import { rolloutCommand } from "./commands/rollout-command.js";
import { scheduleCommand } from "./commands/schedule-command.js";
import { schedulesCommand } from "./commands/schedules-command.js";
import { showCommand } from "./commands/show-command.js";
import { statusCommand } from "./commands/status-command.js";
import { exitFor } from "./exit-codes.js";

const EXAMPLES = `
Examples:
  fleet reload web-tier --canary 1
  fleet reload web-tier --canary 1 --batch 25% --max-failures 1 --dry-run
  fleet rollout web-tier --file nginx.conf:/etc/nginx/nginx.conf --file site.conf:/etc/nginx/site.conf --dry-run
  fleet reload web-tier --select zone=a,role!=edge --hosts 'web*'
  fleet drift web-tier
  fleet history --group web-tier
  fleet show 42
  fleet reload web-tier --canary 1 --bake 5m --approve   # then: fleet promote ID
  fleet follow 42
  fleet abort 42 && fleet resume 42 --batch 2
  fleet controller status          # identity, epoch, replication lag
  fleet agent describe 10.0.0.5:7601
  fleet agent reload 10.0.0.5:7601 nginx --json
  fleet agent status unix:/run/fleet/agent.sock

Exit codes: 0 success; 1 reload/rollout failed, halted, aborted or refused by its preflight
(fleet drift: drift found); 2 usage or config error (also an unknown group or rollout);
3 controller or agent unreachable, including a rollout refused by its preflight because a host
was unreachable (nothing was touched).`;

export function buildProgram(): Command {
  const program = new Command("fleet")
    .description("Reload orchestrator for Linux server fleets")
    .version("0.1.0")
    .option("--controller <address>", "controller address: unix:/path or host:port (or FLEET_CONTROLLER)")
    .option("--json", "machine-readable output (NDJSON for streams)")
    .addHelpText("after", EXAMPLES);
  for (const c of [reloadCommand(), rolloutCommand(), followCommand(), promoteCommand(), abortCommand(), resumeCommand(), statusCommand(), driftCommand(), historyCommand(), showCommand(), schedulesCommand(), scheduleCommand(), controllerCommand(), agentCommand(), certsCommand(), demoCommand()]) {
    program.addCommand(c);
  }
  throwInsteadOfExit(program);
  return program;
}

/** Commander exits by itself (code 1) on a parse error unless told otherwise, per (sub)command. */
function throwInsteadOfExit(cmd: Command): void {
  cmd.exitOverride().configureOutput({ outputError: (str, write) => write(str) });
  for (const sub of cmd.commands) throwInsteadOfExit(sub);
}

async function main(): Promise<number> {
  try {
    await buildProgram().parseAsync(process.argv);
    return handlerExitCode();
  } catch (err) {
    const { code, message } = exitFor(err);
    if (message) console.error(`fleet: ${message}`);
    return code;
  }
}

// No top-level await: the build compiles the CLI to a CommonJS script (see bin/start-built.js).
void main().then((code) => process.exit(code));

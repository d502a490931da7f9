// fleet: the operator's command line.
import { Command, CommanderError } from "commander";
import { AgentCallError } from "../common/agent-client.js";
import { agentCommand } from "./commands/agent-command.js";
import { EXIT, UsageError } from "./exit-codes.js";

let exitCode: number = EXIT.ok;
const setExit = (code: number) => {
  exitCode = Math.max(exitCode, code);
};

const program = new Command("fleet")
  .description("Reload orchestrator for Linux server fleets")
  .version("0.1.0")
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(str) })
  .addHelpText(
    "after",
    `
Examples:
  fleet agent describe 10.0.0.5:7601
  fleet agent reload 10.0.0.5:7601 nginx --json
  fleet agent status unix:/run/fleet/agent.sock

Exit codes: 0 success, 1 reload/rollout failed, 2 usage or config error, 3 unreachable.`,
  );
program.addCommand(agentCommand(setExit));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (err instanceof UsageError) {
    console.error(`fleet: ${err.message}`);
    exitCode = EXIT.usage;
  } else if (err instanceof AgentCallError) {
    console.error(`fleet: ${err.message}`);
    exitCode = err.unreachable ? EXIT.unreachable : EXIT.failed;
  } else {
    console.error(`fleet: ${err instanceof Error ? err.message : String(err)}`);
    exitCode = EXIT.failed;
  }
}
process.exit(exitCode);

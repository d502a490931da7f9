// fleet: the operator's command line.
import { Command, CommanderError } from "commander";
import { AgentCallError } from "../common/agent-client.js";
import { agentCommand } from "./commands/agent-command.js";
import { certsCommand } from "./commands/certs-command.js";
import { rolloutCommands } from "./commands/rollout-commands.js";
import { ControllerCallError } from "./controller-client.js";
import { status } from "@grpc/grpc-js";
import { EXIT, UsageError } from "./exit-codes.js";

let exitCode: number = EXIT.ok;
const setExit = (code: number) => {
  exitCode = Math.max(exitCode, code);
};

const program = new Command("fleet")
  .description("Reload orchestrator for Linux server fleets")
  .version("0.1.0")
  .option("--controller <address>", "controller address: unix:/path or host:port (or FLEET_CONTROLLER)")
  .option("--json", "machine-readable output (NDJSON for streams)")
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(str) })
  .addHelpText(
    "after",
    `
Examples:
  fleet reload web-tier --canary 1
  fleet reload web-tier --canary 1 --batch 25% --max-failures 1 --dry-run
  fleet history --group web-tier
  fleet show 42
  fleet abort 42 && fleet resume 42
  fleet agent describe 10.0.0.5:7601
  fleet agent reload 10.0.0.5:7601 nginx --json
  fleet agent status unix:/run/fleet/agent.sock

Exit codes: 0 success, 1 reload/rollout failed, 2 usage or config error, 3 unreachable.`,
  );
program.addCommand(agentCommand(setExit));
program.addCommand(certsCommand());
for (const c of rolloutCommands(setExit)) program.addCommand(c);
program.addCommand(
  new Command("demo").description("a local controller and five agents: a healthy reload, a halted one, the history (no root needed)").action(async () => {
    const { runDemo } = await import("./demo/run-demo.js");
    setExit(await runDemo());
  }),
);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (err instanceof UsageError) {
    console.error(`fleet: ${err.message}`);
    exitCode = EXIT.usage;
  } else if (err instanceof ControllerCallError) {
    console.error(`fleet: ${err.message}`);
    exitCode = err.unreachable ? EXIT.unreachable : err.code === status.INVALID_ARGUMENT || err.code === status.NOT_FOUND ? EXIT.usage : EXIT.failed;
  } else if (err instanceof AgentCallError) {
    console.error(`fleet: ${err.message}`);
    exitCode = err.unreachable ? EXIT.unreachable : EXIT.failed;
  } else {
    console.error(`fleet: ${err instanceof Error ? err.message : String(err)}`);
    exitCode = EXIT.failed;
  }
}
process.exit(exitCode);

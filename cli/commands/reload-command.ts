// `fleet reload GROUP`: a rolling reload of the group's service, canaries first.
import { Command } from "commander";
import { action } from "../command-action.js";
import { addPolicyOptions } from "../policy-options.js";
import { addRolloutOptions, runRollout, type RolloutFlags } from "../run-rollout.js";

export function reloadCommand(): Command {
  return addRolloutOptions(addPolicyOptions(new Command("reload").argument("<group>", "inventory group")))
    .description("rolling reload of a group's service: canaries first, then batches, gated on evidence")
    .addHelpText("after", "\nExamples:\n  fleet reload web-tier --canary 1\n  fleet reload web-tier --canary 10% --batch 1,5,20% --max-failures 1 --bake 30s --reason 'TLS cert rotation'\n  fleet reload web-tier --hosts 'web1*' --dry-run")
    .action(action((group: string, o: RolloutFlags, cmd: Command) => runRollout("reload", group, o, cmd, {})));
}

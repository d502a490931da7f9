// `fleet rollout GROUP --file LOCAL --path REMOTE`: a config change in rollout order.
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { action } from "../command-action.js";
import { UsageError } from "../exit-codes.js";
import { addPolicyOptions } from "../policy-options.js";
import { addRolloutOptions, runRollout, type RolloutFlags } from "../run-rollout.js";

type ConfigRolloutFlags = RolloutFlags & { file: string; path: string; rollbackAll?: boolean };

export function rolloutCommand(): Command {
  return addRolloutOptions(addPolicyOptions(new Command("rollout").argument("<group>", "inventory group")))
    .description("push a config file to a group in rollout order: validate before swap, reload, verify, restore on failure")
    .requiredOption("--file <local>", "the new config file")
    .requiredOption("--path <remote>", "where it goes on every host (a path the service declares)")
    .option("--rollback-all", "when the rollout halts, also restore the hosts already done")
    .addHelpText("after", "\nExamples:\n  fleet rollout web-tier --file nginx.conf --path /etc/nginx/nginx.conf --canary 1 --bake 30s\n  fleet rollout web-tier --file nginx.conf --path /etc/nginx/nginx.conf --rollback-all --dry-run")
    .action(
      action((group: string, o: ConfigRolloutFlags, cmd: Command) => {
        let content: Buffer;
        try {
          content = readFileSync(o.file);
        } catch (err) {
          throw new UsageError(`cannot read --file ${o.file}: ${(err as Error).message}`);
        }
        return runRollout("rollout", group, o, cmd, { path: o.path, content, rollbackAll: o.rollbackAll ?? false });
      }),
    );
}

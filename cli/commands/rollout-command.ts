// `fleet rollout GROUP --file LOCAL:REMOTE [--file ...] [--template LOCAL:REMOTE ...]`: a config
// set in rollout order (the one-file form `--file LOCAL --path REMOTE` still works).
import { Command } from "commander";
import { action } from "../command-action.js";
import { collect, readConfigSet, type ConfigSetFlags } from "../config-set-options.js";
import { addPolicyOptions } from "../policy-options.js";
import { addRolloutOptions, runRollout, type RolloutFlags } from "../run-rollout.js";

type ConfigRolloutFlags = RolloutFlags & ConfigSetFlags & { rollbackAll?: boolean; force?: boolean };

const EXAMPLES = `
Examples:
  fleet rollout web-tier --file nginx.conf:/etc/nginx/nginx.conf --file site.conf:/etc/nginx/sites-enabled/site.conf --dry-run
  fleet rollout web-tier --file tls.crt:/etc/nginx/tls.crt --file tls.key:/etc/nginx/tls.key --canary 1 --bake 30s
  fleet rollout web-tier --template upstream.conf.liquid:/etc/nginx/conf.d/upstream.conf --select zone=a
  fleet rollout web-tier --file nginx.conf --path /etc/nginx/nginx.conf --rollback-all

Templates (Liquid, strict: an undefined variable on any host refuses the rollout before any host is touched):
  {{ host.name }} {{ host.address }} {{ group.name }} {{ group.service }} {{ vars.NAME }} {{ labels.KEY }}
  vars = the group's vars with the host's own vars on top.`;

export function rolloutCommand(): Command {
  return addRolloutOptions(addPolicyOptions(new Command("rollout").argument("<group>", "inventory group")))
    .description("push a set of config files to a group in rollout order: check the set together, install, reload once, verify, restore the whole set on failure")
    .option("--file <local:remote>", "a file of the set: local file and its path on every host (repeatable)", collect)
    .option("--template <local:remote>", "a Liquid template rendered per host (repeatable, mixable with --file)", collect)
    .option("--path <remote>", "the one-file form: where the single --file LOCAL goes")
    .option("--rollback-all", "when the rollout halts, also restore the hosts already done")
    .option("--force", "accepted for symmetry with schedule run --force: a rollout always pushes to every selected host (an agent whose files already match does nothing)")
    .addHelpText("after", EXAMPLES)
    .action(
      action((group: string, o: ConfigRolloutFlags, cmd: Command) => {
        const files = readConfigSet(o);
        return runRollout("rollout", group, o, cmd, { path: "", content: Buffer.alloc(0), files, rollbackAll: o.rollbackAll ?? false, force: o.force ?? false });
      }),
    );
}

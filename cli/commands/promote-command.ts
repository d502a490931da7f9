// `fleet promote ID`: approve a rollout waiting after its canary batch and bake.
import { Command } from "commander";
import type { PromoteResponse } from "../../proto/gen/fleet/controller/v1/controller.js";
import { action } from "../command-action.js";
import { caller } from "../caller.js";
import { rolloutId, withController, type GlobalFlags } from "../controller-session.js";
import { EXIT } from "../exit-codes.js";
import { printJson } from "../output/json-output.js";

export function promoteCommand(): Command {
  return new Command("promote")
    .argument("<id>", "rollout id")
    .description("let a rollout waiting for approval (--approve) go on with the hosts after its canaries")
    .addHelpText("after", "\nExamples:\n  fleet reload web-tier --canary 1 --bake 5m --approve\n  fleet promote 42      # the canary looks good: go on\n  fleet abort 42        # or stop: the other hosts stay untouched")
    .action(
      action((idText: string, o: GlobalFlags, cmd: Command) =>
        withController(o, cmd, async (client, flags) => {
          const r = await client.unary<object, PromoteResponse>("promote", { rolloutId: rolloutId(idText), caller: caller() });
          if (flags.json) printJson(r);
          else console.log(r.message);
          return EXIT.ok;
        }),
      ),
    );
}

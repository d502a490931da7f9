// `fleet abort ID`: stop a rollout after the hosts in flight finish.
import { Command } from "commander";
import type { AbortResponse } from "../../proto/gen/fleet/controller/v1/controller.js";
import { action } from "../command-action.js";
import { caller } from "../caller.js";
import { rolloutId, withController, type GlobalFlags } from "../controller-session.js";
import { EXIT } from "../exit-codes.js";
import { printJson } from "../output/json-output.js";

export function abortCommand(): Command {
  return new Command("abort")
    .argument("<id>", "rollout id")
    .description("stop a rollout after the hosts in flight finish")
    .action(
      action((idText: string, o: GlobalFlags, cmd: Command) =>
        withController(o, cmd, async (client, flags) => {
          const r = await client.unary<object, AbortResponse>("abort", { rolloutId: rolloutId(idText), caller: caller() });
          if (flags.json) printJson(r);
          else console.log(r.message);
          return EXIT.ok;
        }),
      ),
    );
}

// `fleet show ID`: one rollout with every host's step, and the rollback entries linked to it.
import { Command } from "commander";
import type { ShowResponse } from "../../proto/gen/fleet/controller/v1/controller.js";
import { action } from "../command-action.js";
import { rolloutId, withController, type GlobalFlags } from "../controller-session.js";
import { EXIT } from "../exit-codes.js";
import { printJson } from "../output/json-output.js";
import { formatAppliedDiffs } from "../output/applied-diff-output.js";
import { formatShow } from "../output/rollout-output.js";

export function showCommand(): Command {
  return new Command("show")
    .argument("<id>", "rollout id")
    .description("one rollout: policy, every host's step with outcome, evidence strength and probe counts, events")
    .option("--diff", "config rollouts: also each host's files (hash before -> after) and the unified diff the push applied")
    .action(
      action((idText: string, o: GlobalFlags & { diff?: boolean }, cmd: Command) =>
        withController(o, cmd, async (client, flags) => {
          const r = await client.unary<object, ShowResponse>("show", { rolloutId: rolloutId(idText) });
          if (flags.json) printJson(r, true);
          else for (const part of [r, ...r.linked]) [...formatShow(part), ...(o.diff ? formatAppliedDiffs(part) : [])].forEach((l) => console.log(l));
          return EXIT.ok;
        }, "read"),
      ),
    );
}

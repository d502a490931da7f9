// `fleet history`: recent rollouts, newest first.
import { Command } from "commander";
import type { HistoryResponse } from "../../proto/gen/fleet/controller/v1/controller.js";
import { action } from "../command-action.js";
import { withController, type GlobalFlags } from "../controller-session.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { printJson } from "../output/json-output.js";
import { formatHistory } from "../output/rollout-output.js";

export function historyCommand(): Command {
  return new Command("history")
    .description("recent rollouts, newest first")
    .option("--group <group>", "only this group")
    .option("--limit <n>", "how many (1-1000)", "20")
    .action(
      action((o: GlobalFlags & { group?: string; limit: string }, cmd: Command) => {
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit must be 1-1000, got ${JSON.stringify(o.limit)}`);
        return withController(o, cmd, async (client, flags) => {
          const r = await client.unary<object, HistoryResponse>("history", { group: o.group ?? "", limit, beforeId: 0 });
          if (flags.json) r.rollouts.forEach((x) => printJson(x));
          else if (!r.rollouts.length) console.log(o.group ? `no rollouts of group ${o.group} yet` : "no rollouts yet");
          else formatHistory(r.rollouts).forEach((l) => console.log(l));
          return EXIT.ok;
        }, "read");
      }),
    );
}

// `fleet schedules`: the scheduled config rollouts, their next and last runs.
import { Command } from "commander";
import type { ListSchedulesResponse } from "../../proto/gen/fleet/controller/v1/controller.js";
import { action } from "../command-action.js";
import { withController, type GlobalFlags } from "../controller-session.js";
import { EXIT } from "../exit-codes.js";
import { printJson } from "../output/json-output.js";

export function schedulesCommand(): Command {
  return new Command("schedules").description("scheduled config rollouts: next run, last run and its outcome").action(
    action((o: GlobalFlags, cmd: Command) =>
      withController(o, cmd, async (client, flags) => {
        const r = await client.unary<object, ListSchedulesResponse>("listSchedules", {});
        if (flags.json) r.schedules.forEach((x) => printJson(x));
        else if (!r.schedules.length) console.log("no schedules declared");
        for (const x of flags.json ? [] : r.schedules) {
          const next = x.paused ? "paused" : Number(x.nextRunMs) ? `next ${new Date(Number(x.nextRunMs)).toISOString()}` : "no next run";
          const last = x.lastRun
            ? `last ${new Date(Number(x.lastRun.atMs)).toISOString()} ${x.lastRun.outcome}${Number(x.lastRun.rolloutId) ? ` rollout ${x.lastRun.rolloutId} ${x.lastRun.rolloutState}` : ""}: ${x.lastRun.reason}`
            : "never run";
          console.log(`${x.name} [${x.cron}] ${x.source} -> ${x.group}:${x.path}\n  ${next}${x.running ? ", running now" : ""}\n  ${last}`);
        }
        return EXIT.ok;
      }, "read"),
    ),
  );
}

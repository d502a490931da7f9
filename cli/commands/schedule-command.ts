// `fleet schedule run|pause|resume NAME`.
import { Command } from "commander";
import type { ScheduleActionResponse } from "../../proto/gen/fleet/controller/v1/controller.js";
import { action } from "../command-action.js";
import { caller } from "../caller.js";
import { withController, type GlobalFlags } from "../controller-session.js";
import { EXIT } from "../exit-codes.js";
import { printJson } from "../output/json-output.js";

const WHAT = {
  run: "run now (still never overlapping itself); an unchanged source goes only to hosts whose files drifted",
  pause: "stop firing until resumed; survives controller restarts",
  resume: "fire again on its cron",
} as const;

export function scheduleCommand(): Command {
  const schedule = new Command("schedule").description("run, pause or resume one schedule");
  for (const verb of ["run", "pause", "resume"] as const) {
    const sub = schedule.command(verb).argument("<name>", "schedule name").description(WHAT[verb]);
    if (verb === "run") sub.option("--force", "push to every host of the group even when the source is unchanged and no host drifted");
    sub.action(
      action((name: string, o: GlobalFlags & { force?: boolean }, cmd: Command) =>
        withController(o, cmd, async (client, flags) => {
          const r = await client.unary<object, ScheduleActionResponse>("scheduleAction", { name, action: verb, caller: caller(), force: o.force ?? false }, 30_000);
          if (flags.json) printJson(r);
          else console.log(r.message);
          return verb === "run" && r.run?.outcome === "skipped" ? EXIT.failed : EXIT.ok;
        }),
      ),
    );
  }
  return schedule;
}

// `fleet schedule run|pause|resume NAME`.
import { Command } from "commander";
import type { ScheduleActionResponse } from "../../proto/gen/fleet/controller/v1/controller.js";
import { action } from "../command-action.js";
import { caller } from "../caller.js";
import { withController, type GlobalFlags } from "../controller-session.js";
import { EXIT } from "../exit-codes.js";
import { printJson } from "../output/json-output.js";

const WHAT = {
  run: "run now (still never overlapping itself)",
  pause: "stop firing until resumed; survives controller restarts",
  resume: "fire again on its cron",
} as const;

export function scheduleCommand(): Command {
  const schedule = new Command("schedule").description("run, pause or resume one schedule");
  for (const verb of ["run", "pause", "resume"] as const) {
    schedule
      .command(verb)
      .argument("<name>", "schedule name")
      .description(WHAT[verb])
      .action(
        action((name: string, o: GlobalFlags, cmd: Command) =>
          withController(o, cmd, async (client, flags) => {
            const r = await client.unary<object, ScheduleActionResponse>("scheduleAction", { name, action: verb, caller: caller() }, 30_000);
            if (flags.json) printJson(r);
            else console.log(r.message);
            return verb === "run" && r.run?.outcome === "skipped" ? EXIT.failed : EXIT.ok;
          }),
        ),
      );
  }
  return schedule;
}

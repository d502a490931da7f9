// `fleet resume ID`: continue an interrupted or aborted rollout with the hosts not yet done.
import { Command } from "commander";
import { action } from "../command-action.js";
import { caller } from "../caller.js";
import { rolloutId, withController, type GlobalFlags } from "../controller-session.js";
import { FOLLOW_MS, followRollout } from "../follow-rollout.js";

export function resumeCommand(): Command {
  return new Command("resume")
    .argument("<id>", "rollout id")
    .description("continue an interrupted or aborted rollout with the hosts not done (no host is reloaded twice; a rollback entry resumes as its restore)")
    .action(
      action((idText: string, o: GlobalFlags, cmd: Command) =>
        withController(o, cmd, (client, flags) => {
          const abort = new AbortController();
          return followRollout(client.stream("resume", { rolloutId: rolloutId(idText), caller: caller() }, FOLLOW_MS, abort.signal), flags, abort);
        }),
      ),
    );
}

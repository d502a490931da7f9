// `fleet follow ID`: re-attach to a rollout's live display (or NDJSON with --json) and exit
// with its exit code; a rollout already ended prints its end.
import { Command } from "commander";
import { action } from "../command-action.js";
import { rolloutId, withController, type GlobalFlags } from "../controller-session.js";
import { FOLLOW_MS, followRollout } from "../follow-rollout.js";

export function followCommand(): Command {
  return new Command("follow")
    .argument("<id>", "rollout id")
    .description("re-attach to a running rollout and follow it to its end (exit code as if you had started it); an ended rollout prints its end")
    .addHelpText("after", "\nExamples:\n  fleet follow 42\n  fleet follow 42 --json | jq -c 'select(.kind == \"host_finished\")'")
    .action(
      action((idText: string, o: GlobalFlags, cmd: Command) =>
        withController(o, cmd, (client, flags) => {
          const abort = new AbortController();
          return followRollout(client.stream("watch", { rolloutId: rolloutId(idText) }, FOLLOW_MS, abort.signal), flags, abort);
        }, "read"),
      ),
    );
}

// `fleet resume ID`: continue an interrupted or aborted rollout with the hosts not yet done —
// shows what remains and its preflight, asks on a terminal, and may change the pacing of the rest.
import { Command } from "commander";
import { action } from "../command-action.js";
import { caller } from "../caller.js";
import { rolloutId, withController, type GlobalFlags } from "../controller-session.js";
import { planThenRun } from "../follow-rollout.js";
import { addPacingOptions, policyRequest, type PolicyFlags } from "../policy-options.js";

interface ResumeFlags extends GlobalFlags, Pick<PolicyFlags, "batch" | "bake" | "pause"> {
  dryRun?: boolean;
  yes?: boolean;
  allowPreflightFailures?: boolean;
}

export function resumeCommand(): Command {
  return addPacingOptions(new Command("resume").argument("<id>", "rollout id"), " for the hosts that remain")
    .description("continue an interrupted or aborted rollout with the hosts not done (no host is reloaded twice; a rollback entry resumes as its restore)")
    .option("--allow-preflight-failures", "hosts failing the preflight are recorded as failed instead of refusing, if the rollout's max failures tolerate them")
    .option("--dry-run", "print what remains and its preflight, and change nothing")
    .option("-y, --yes", "do not ask for confirmation on a terminal")
    .addHelpText("after", "\nExamples:\n  fleet resume 42\n  fleet resume 42 --batch 2 --pause 30s --dry-run\n\nA rollout interrupted while waiting for approval waits again after the resume (its canaries are not reloaded again).")
    .action(
      action((idText: string, o: ResumeFlags, cmd: Command) =>
        withController(o, cmd, (client, flags) => {
          const { batch, bake, pause } = policyRequest(o);
          const request = { rolloutId: rolloutId(idText), caller: caller(), policy: { ...policyRequest({}), batch, bake, pause }, allowPreflightFailures: o.allowPreflightFailures ?? false };
          return planThenRun(client, "resume", request, { ...flags, dryRun: o.dryRun, yes: o.yes }, "Resume this rollout? [y/N] ");
        }),
      ),
    );
}

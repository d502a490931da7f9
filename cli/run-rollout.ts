// What reload and rollout share: build the request, show the plan and ask on a terminal, then
// follow the rollout to its end.
import type { Command } from "commander";
import { caller } from "./caller.js";
import { withController, type GlobalFlags } from "./controller-session.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { canPrompt, confirm, FOLLOW_MS, followRollout } from "./follow-rollout.js";
import { policyRequest, type PolicyFlags } from "./policy-options.js";

export interface RolloutFlags extends GlobalFlags, PolicyFlags {
  hosts?: string;
  reason: string;
  allowRestart?: boolean;
  dryRun?: boolean;
  yes?: boolean;
}

export function addRolloutOptions(cmd: Command): Command {
  return cmd
    .option("--hosts <list>", "only these hosts (comma-separated addresses, * globs)")
    .option("--reason <text>", "why, recorded in the history", "")
    .option("--allow-restart", "accept a restart (new main process) as success where the service allows it")
    .option("--dry-run", "print the plan and change nothing")
    .option("-y, --yes", "do not ask for confirmation on a terminal");
}

export function runRollout(rpc: "reload" | "rollout", group: string, o: RolloutFlags, cmd: Command, extra: object): Promise<ExitCode> {
  return withController(o, cmd, async (client, flags) => {
    const request = {
      group,
      policy: policyRequest(o),
      hosts: o.hosts ? o.hosts.split(",").map((h) => h.trim()).filter(Boolean) : [],
      dryRun: false,
      reason: o.reason,
      caller: caller(),
      allowRestart: o.allowRestart ?? false,
      ...extra,
    };
    if (o.dryRun || (canPrompt(flags) && !o.yes)) {
      const code = await followRollout(client.stream(rpc, { ...request, dryRun: true }, 30_000), flags, new AbortController());
      if (o.dryRun || code !== EXIT.ok) return code;
      if (!(await confirm("Proceed with this rollout? [y/N] "))) {
        process.stderr.write("fleet: nothing changed\n");
        return EXIT.failed;
      }
    }
    const abort = new AbortController();
    return followRollout(client.stream(rpc, request, FOLLOW_MS, abort.signal), flags, abort);
  });
}

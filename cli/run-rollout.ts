// What reload and rollout share: build the request, show the plan and ask on a terminal, then
// follow the rollout to its end.
import type { Command } from "commander";
import { caller } from "./caller.js";
import { withController, type GlobalFlags } from "./controller-session.js";
import { EXIT, UsageError, type ExitCode } from "./exit-codes.js";
import { canPrompt, confirm, FOLLOW_MS, followRollout } from "./follow-rollout.js";
import { DiffCollector, formatDiffPrompt, formatDiffs } from "./output/diff-output.js";
import { policyRequest, type PolicyFlags } from "./policy-options.js";

export interface RolloutFlags extends GlobalFlags, PolicyFlags {
  hosts?: string;
  select?: string;
  reason: string;
  allowRestart?: boolean;
  dryRun?: boolean;
  yes?: boolean;
}

export function addRolloutOptions(cmd: Command): Command {
  return cmd
    .option("--hosts <list>", "only these hosts (comma-separated names or addresses, * and ? globs)")
    .option("--select <labels>", "only hosts whose labels match, e.g. zone=a,role!=edge (every term must hold)")
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
      hosts: hostList(o.hosts),
      select: selectorText(o.select),
      dryRun: false,
      reason: o.reason,
      caller: caller(),
      allowRestart: o.allowRestart ?? false,
      ...extra,
    };
    if (o.dryRun || (canPrompt(flags) && !o.yes)) {
      const preview = new DiffCollector();
      const code = await followRollout(preview.tap(client.stream(rpc, { ...request, dryRun: true }, 30_000)), flags, new AbortController());
      // Config rollouts: every host's diff on --dry-run; a summary and the first diff before the prompt.
      if (!flags.json && preview.diffs.length) (o.dryRun ? formatDiffs(preview.diffs) : formatDiffPrompt(preview.diffs)).forEach((l) => console.log(l));
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

/** `--hosts ""` (a script's unset variable) must not mean "every host": an empty selection is a usage error. */
function hostList(text: string | undefined): string[] {
  if (text === undefined) return [];
  const list = text.split(",").map((h) => h.trim()).filter(Boolean);
  if (!list.length) throw new UsageError(`--hosts is empty (${JSON.stringify(text)}); give names, addresses or globs, or leave the flag out for every host`);
  return list;
}

function selectorText(text: string | undefined): string {
  if (text !== undefined && !text.trim()) throw new UsageError(`--select is empty; give KEY=VALUE or KEY!=VALUE terms, or leave the flag out for every host`);
  return text ?? "";
}

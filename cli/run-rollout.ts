// What reload and rollout share: build the request, then plan, preflight, ask and follow.
import type { Command } from "commander";
import { caller } from "./caller.js";
import { withController, type GlobalFlags } from "./controller-session.js";
import { UsageError, type ExitCode } from "./exit-codes.js";
import { planThenRun } from "./follow-rollout.js";
import { policyRequest, type PolicyFlags } from "./policy-options.js";

export interface RolloutFlags extends GlobalFlags, PolicyFlags {
  hosts?: string;
  select?: string;
  reason: string;
  allowRestart?: boolean;
  allowPreflightFailures?: boolean;
  dryRun?: boolean;
  yes?: boolean;
}

export function addRolloutOptions(cmd: Command): Command {
  return cmd
    .option("--hosts <list>", "only these hosts (comma-separated names or addresses, * and ? globs)")
    .option("--select <labels>", "only hosts whose labels match, e.g. zone=a,role!=edge (every term must hold)")
    .option("--reason <text>", "why, recorded in the history", "")
    .option("--allow-restart", "accept a restart (new main process) as success where the service allows it")
    .option("--allow-preflight-failures", "hosts failing the preflight are recorded as failed instead of refusing the rollout, if --max-failures tolerates that many")
    .option("--dry-run", "print the plan and its preflight, and change nothing")
    .option("-y, --yes", "do not ask for confirmation on a terminal");
}

export function runRollout(rpc: "reload" | "rollout", group: string, o: RolloutFlags, cmd: Command, extra: object): Promise<ExitCode> {
  return withController(o, cmd, async (client, flags) => {
    const request = {
      group,
      policy: policyRequest(o),
      hosts: hostList(o.hosts),
      select: selectorText(o.select),
      reason: o.reason,
      caller: caller(),
      allowRestart: o.allowRestart ?? false,
      allowPreflightFailures: o.allowPreflightFailures ?? false,
      ...extra,
    };
    return planThenRun(client, rpc, request, flags);
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

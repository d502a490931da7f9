// The rollout policy flags shared by reload, rollout (and resume's remainder), checked as they
// are parsed so a mistake exits 2 before anything is sent.
import { Command, Option } from "commander";
import { durationOption } from "./duration-option.js";
import { UsageError } from "./exit-codes.js";

export interface PolicyFlags {
  canary?: string;
  batch?: string;
  maxFailures?: string;
  bake?: number;
  pause?: number;
  acceptUnverified?: boolean;
  approve?: boolean;
}

const isCount = (v: string) => /^\d+%?$/.test(v) && !(v.endsWith("%") && Number(v.slice(0, -1)) > 100);

const checkedOption = (flag: string, what: string, check: (v: string) => boolean, allowed: string) =>
  new Option(flag, what).argParser((v: string) => {
    if (!check(v)) throw new UsageError(`${flag.split(" ")[0]} ${allowed}, got ${JSON.stringify(v)}`);
    return v;
  });

/** --batch, --bake and --pause: what reload and rollout take, and resume takes for the hosts that remain. */
export function addPacingOptions(cmd: Command, what = ""): Command {
  return cmd
    .addOption(checkedOption("--batch <n>", `batch size${what}: N, N% or a list like 1,5,20% (last repeats)`, (v) => v.split(",").every((x) => isCount(x) && !/^0+%?$/.test(x)), "must be N, N% or a list like 1,5,20% (each at least 1)"))
    .addOption(durationOption("--bake <duration>", `keep probing canaries this long before the rest${what} (e.g. 30s, 1m30s)`))
    .addOption(durationOption("--pause <duration>", `pause between batches${what} (e.g. 10s)`));
}

export function addPolicyOptions(cmd: Command): Command {
  return addPacingOptions(cmd.addOption(checkedOption("--canary <n>", "canary hosts first: N or N% (0 = no canary phase)", isCount, "must be N or N%")))
    .addOption(checkedOption("--max-failures <n>", "halt when failures exceed N or N% (default 0)", isCount, "must be N or N%"))
    .option("--accept-unverified", "count unverified reloads (sent, but no generation evidence) as success; history still marks them unverified")
    .option("--approve", "wait after the canary batch and its bake until fleet promote ID (or fleet abort ID); also policy: { approve: true }");
}

const msText = (ms: number | undefined) => (ms === undefined ? "" : `${ms}ms`);

/** The policy as the controller's request carries it ("" = the group's own). */
export function policyRequest(o: PolicyFlags) {
  return { canary: o.canary ?? "", batch: o.batch ?? "", maxFailures: o.maxFailures ?? "", bake: msText(o.bake), pause: msText(o.pause), acceptUnverified: o.acceptUnverified ?? false, approve: o.approve ?? false };
}

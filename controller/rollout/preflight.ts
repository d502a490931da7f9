// The preflight: before any host of a rollout is touched, every one is asked
// (in parallel, each call with the agents' deadline) whether it answers,
// accepts the controller's credentials, declares the service and the pushed
// path, and runs the service. Judging the answers and deciding whether the
// rollout may go on are pure; only `runPreflight` talks to agents.
import { plural } from "../../common/plural.js";
import type { HostInspection } from "../agents/inspect-host.js";

export interface PreflightWant {
  service: string;
  /** A config rollout's destination: it must be one of the service's declared paths. */
  configPath?: string;
}

export interface PreflightFailure {
  host: string;
  outcome: "unreachable" | "refused" | "not_running";
  problem: string;
}

export interface PreflightRule {
  maxFailures: number;
  /** --allow-preflight-failures: go on with failed hosts recorded as failed, if max_failures tolerates them. */
  allowFailures: boolean;
  /** A canary that fails the preflight always refuses: the canary phase is what proves the change. */
  canaries: string[];
  /** Failures the rollout already recorded (a resume): they count against max_failures too. */
  alreadyFailed: number;
}

export interface PreflightReport {
  ran: true;
  hostsChecked: number;
  failed: PreflightFailure[];
  /** Nothing is touched; the rollout ends failed. */
  refused: boolean;
  /** The failed hosts are recorded as failed and the others go on. */
  tolerated: boolean;
  summary: string;
}

/** One host's answers against what the rollout needs; undefined when it may go on. */
export function hostVerdict(host: string, inspection: HostInspection, want: PreflightWant): PreflightFailure | undefined {
  const fail = (outcome: PreflightFailure["outcome"], problem: string) => ({ host, outcome, problem });
  switch (inspection.state) {
    case "unreachable":
      return fail("unreachable", inspection.problem);
    case "denied":
    case "not_declared":
      return fail("refused", inspection.problem);
    case "not_running":
      return fail("not_running", `service ${want.service} is not running: ${inspection.problem}`);
  }
  if (want.configPath && !inspection.configPaths.includes(want.configPath)) {
    return fail("refused", `${want.configPath} is not a config path of service ${want.service} on this agent; declared: ${inspection.configPaths.join(", ") || "(none)"}`);
  }
  return undefined;
}

export function decidePreflight(hostsChecked: number, failed: PreflightFailure[], rule: PreflightRule): PreflightReport {
  const base = { ran: true as const, hostsChecked, failed };
  const ready = `${hostsChecked - failed.length} of ${plural(hostsChecked, "host")} ready`;
  if (failed.length === 0) return { ...base, refused: false, tolerated: false, summary: ready };
  const list = failed.map((f) => `${f.host}: ${f.outcome} (${f.problem})`).join("; ");
  const canary = failed.find((f) => rule.canaries.includes(f.host));
  const total = rule.alreadyFailed + failed.length;
  const refuse = (why: string) => ({ ...base, refused: true, tolerated: false, summary: `${ready}; ${why}; no host was touched — ${list}` });
  if (canary) return refuse(`canary ${canary.host} failed it, and a canary must pass (choose other canaries or leave the host out with --hosts)`);
  if (total > rule.maxFailures) return refuse(`${plural(failed.length, "host")} failed it${rule.alreadyFailed ? ` (and ${rule.alreadyFailed} already failed)` : ""}, more than the allowed ${rule.maxFailures} (--max-failures)`);
  if (!rule.allowFailures) return refuse(`${plural(failed.length, "host")} failed it (--allow-preflight-failures goes on with ${failed.length === 1 ? "it" : "them"} recorded as failed, within --max-failures ${rule.maxFailures})`);
  return { ...base, refused: false, tolerated: true, summary: `${ready}; going on without ${plural(failed.length, "failed host")} (--allow-preflight-failures, within --max-failures ${rule.maxFailures}) — ${list}` };
}

/** Asks every host at once; resolves when each has answered or hit its deadline. */
export async function runPreflight(hosts: string[], inspect: (host: string) => Promise<HostInspection>, want: PreflightWant, rule: PreflightRule): Promise<PreflightReport> {
  const verdicts = await Promise.all(hosts.map(async (h) => hostVerdict(h, await inspect(h), want)));
  return decidePreflight(hosts.length, verdicts.filter((v): v is PreflightFailure => v !== undefined), rule);
}

// The preflight: before any host of a rollout is touched, every one is asked
// (AGENT_FAN_OUT at a time, each call with the agents' deadline) whether it answers,
// accepts the controller's credentials, declares the service and every pushed
// path, and runs the service. Judging the answers and deciding whether the
// rollout may go on are pure; only `runPreflight` talks to agents.
import { mapLimited } from "../../common/map-limited.js";
import { plural } from "../../common/plural.js";
import { AGENT_FAN_OUT } from "../agents/agent-fan-out.js";
import type { HostInspection } from "../agents/inspect-host.js";

export interface PreflightWant {
  service: string;
  /** A config rollout's destinations (one file or a set): each must be one of the service's declared paths. */
  configPaths?: string[];
}

export interface PreflightFailure {
  /** The agent address (what steps, canaries and locks are keyed by). */
  host: string;
  /** The host's inventory name, when it has one other than its address; reports show it. */
  name?: string;
  outcome: "unreachable" | "refused" | "not_running";
  problem: string;
}

export interface PreflightRule {
  maxFailures: number;
  /** --allow-preflight-failures: go on with failed hosts recorded as failed, if max_failures tolerates them. */
  allowFailures: boolean;
  /** A canary that fails the preflight always refuses: the canary phase is what proves the change. Agent addresses. */
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

/** What a rollout needs of every host: its service, and for a config rollout every path it pushes (a set's, or the one file of a rollout recorded before sets). */
export function preflightWant(settings: { kind: string; service: string; configPath?: string; files?: { path: string }[] }): PreflightWant {
  if (settings.kind !== "config") return { service: settings.service };
  const paths = settings.files?.length ? settings.files.map((f) => f.path) : settings.configPath ? [settings.configPath] : [];
  return { service: settings.service, configPaths: paths };
}

/** One host's answers against what the rollout needs; undefined when it may go on. */
export function hostVerdict(host: string, inspection: HostInspection, want: PreflightWant, name = host): PreflightFailure | undefined {
  const fail = (outcome: PreflightFailure["outcome"], problem: string): PreflightFailure => ({ host, ...(name !== host ? { name } : {}), outcome, problem });
  switch (inspection.state) {
    case "unreachable":
      return fail("unreachable", inspection.problem);
    case "denied":
    case "not_declared":
      return fail("refused", inspection.problem);
    case "not_running":
      return fail("not_running", `service ${want.service} is not running: ${inspection.problem}`);
  }
  const undeclared = (want.configPaths ?? []).filter((p) => !inspection.configPaths.includes(p));
  if (undeclared.length) {
    const which = undeclared.length === 1 ? `${undeclared[0]} is not a config path` : `${undeclared.join(", ")} are not config paths`;
    return fail("refused", `${which} of service ${want.service} on this agent; declared: ${inspection.configPaths.join(", ") || "(none)"}`);
  }
  return undefined;
}

export function decidePreflight(hostsChecked: number, failed: PreflightFailure[], rule: PreflightRule): PreflightReport {
  const base = { ran: true as const, hostsChecked, failed };
  const ready = `${hostsChecked - failed.length} of ${plural(hostsChecked, "host")} ready`;
  if (failed.length === 0) return { ...base, refused: false, tolerated: false, summary: ready };
  const list = failed.map((f) => `${shown(f)}: ${f.outcome} (${f.problem})`).join("; ");
  const canary = failed.find((f) => rule.canaries.includes(f.host));
  const total = rule.alreadyFailed + failed.length;
  const refuse = (why: string) => ({ ...base, refused: true, tolerated: false, summary: `${ready}; ${why}; no host was touched — ${list}` });
  if (canary) return refuse(`canary ${shown(canary)} failed it, and a canary must pass (choose other canaries or leave the host out with --hosts)`);
  if (total > rule.maxFailures) return refuse(`${plural(failed.length, "host")} failed it${rule.alreadyFailed ? ` (and ${rule.alreadyFailed} already failed)` : ""}, more than the allowed ${rule.maxFailures} (--max-failures)`);
  if (!rule.allowFailures) return refuse(`${plural(failed.length, "host")} failed it (--allow-preflight-failures goes on with ${failed.length === 1 ? "it" : "them"} recorded as failed, within --max-failures ${rule.maxFailures})`);
  return { ...base, refused: false, tolerated: true, summary: `${ready}; going on without ${plural(failed.length, "failed host")} (--allow-preflight-failures, within --max-failures ${rule.maxFailures}) — ${list}` };
}

/** A failed host as reports show it: its name, else its address. */
export function shown(f: PreflightFailure): string {
  return f.name ?? f.host;
}

/** Asks every host, AGENT_FAN_OUT at a time; resolves when each has answered or hit its deadline. `nameOf` gives a host's inventory name. */
export async function runPreflight(hosts: string[], inspect: (host: string) => Promise<HostInspection>, want: PreflightWant, rule: PreflightRule, nameOf: (host: string) => string = (h) => h): Promise<PreflightReport> {
  const verdicts = await mapLimited(hosts, AGENT_FAN_OUT, async (h) => hostVerdict(h, await inspect(h), want, nameOf(h) || h));
  return decidePreflight(hosts.length, verdicts.filter((v): v is PreflightFailure => v !== undefined), rule);
}

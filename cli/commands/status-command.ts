// `fleet status [GROUP]`: per host, whether its agent answers, declares the service, and the
// service runs and is healthy; above it, a summary and the rollouts running now.
import { Command } from "commander";
import type { GroupStatusResponse, HostStatus, RolloutSummary } from "../../proto/gen/fleet/controller/v1/controller.js";
import { plural } from "../../common/plural.js";
import { action } from "../command-action.js";
import { withController, type GlobalFlags } from "../controller-session.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { formatColumns } from "../output/columns.js";
import { printJson } from "../output/json-output.js";

/** unreachable (exit 3) outranks a service that is down, unhealthy, undeclared or refusing us (exit 1). */
export function statusExitCode(hosts: HostStatus[]): ExitCode {
  if (hosts.some((h) => h.state === "unreachable" || !h.reachable)) return EXIT.unreachable;
  if (hosts.some((h) => (h.state ? h.state !== "up" : !h.running || !h.healthy))) return EXIT.failed;
  return EXIT.ok;
}

const STATE_WORDS: Record<string, string> = {
  up: "running, healthy",
  unhealthy: "running, UNHEALTHY",
  not_running: "NOT RUNNING",
  not_declared: "SERVICE NOT DECLARED",
  denied: "DENIED",
  unreachable: "UNREACHABLE",
};

export function hostState(h: HostStatus): string {
  return STATE_WORDS[h.state] ?? h.state.toUpperCase();
}

/** One line about all hosts, then one per running rollout. */
export function statusHeader(hosts: HostStatus[], rollouts: RolloutSummary[]): string[] {
  const groups = new Set(hosts.map((h) => h.group)).size;
  const counts = new Map<string, number>();
  for (const h of hosts) counts.set(h.state, (counts.get(h.state) ?? 0) + 1);
  const parts = [...counts].sort((a, b) => (a[0] === "up" ? -1 : b[0] === "up" ? 1 : a[0].localeCompare(b[0]))).map(([state, n]) => `${n} ${state === "up" ? "up" : (STATE_WORDS[state] ?? state).toLowerCase()}`);
  const lines = [`${plural(hosts.length, "host")} in ${plural(groups, "group")}: ${parts.join(", ") || "none"}`];
  for (const r of rollouts) {
    const waiting = r.state === "waiting_for_approval";
    lines.push(`rollout ${r.id} (${r.kind} ${r.group}) is ${waiting ? `waiting for approval: fleet promote ${r.id} goes on, fleet abort ${r.id} stops it` : `running: fleet follow ${r.id} shows it`}`);
  }
  return lines;
}

export function statusCommand(): Command {
  return new Command("status")
    .argument("[group]", "one group (default: all)")
    .description("per host: agent reachable, service declared, running and healthy, main PID, config hashes (DRIFTED when not what fleet installed), what a reload can prove; and the rollouts running now")
    .action(
      action((group: string | undefined, o: GlobalFlags, cmd: Command) =>
        withController(o, cmd, async (client, flags) => {
          const r = await client.unary<object, GroupStatusResponse>("groupStatus", { group: group ?? "" }, 30_000);
          if (flags.json) r.hosts.forEach((h) => printJson(h));
          else {
            statusHeader(r.hosts, r.rollouts).forEach((l) => console.log(l));
            const rows = r.hosts.map((h) => [h.group, h.name && h.name !== h.address ? `${h.name} (${h.address})` : h.address, h.service, hostState(h), h.mainPid ? String(h.mainPid) : "", h.evidence || "", [...h.configHashes, h.error ? `(${h.error})` : ""].filter(Boolean).join(" ")]);
            formatColumns([["GROUP", "HOST", "SERVICE", "STATE", "PID", "EVIDENCE", "CONFIG / DETAIL"], ...rows]).forEach((l) => console.log(l));
          }
          return statusExitCode(r.hosts);
        }, "read"),
      ),
    );
}

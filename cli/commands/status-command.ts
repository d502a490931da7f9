// `fleet status [GROUP]`: per host, whether its agent answers and its service runs and is healthy.
import { Command } from "commander";
import type { GroupStatusResponse, HostStatus } from "../../proto/gen/fleet/controller/v1/controller.js";
import { action } from "../command-action.js";
import { withController, type GlobalFlags } from "../controller-session.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { formatColumns } from "../output/columns.js";
import { printJson } from "../output/json-output.js";

/** unreachable (exit 3) outranks a service that is down or unhealthy (exit 1). */
export function statusExitCode(hosts: HostStatus[]): ExitCode {
  if (hosts.some((h) => !h.reachable)) return EXIT.unreachable;
  if (hosts.some((h) => !h.running || !h.healthy)) return EXIT.failed;
  return EXIT.ok;
}

function hostState(h: HostStatus): string {
  if (!h.reachable) return "UNREACHABLE";
  return `${h.running ? "running" : "NOT RUNNING"}, ${h.healthy ? "healthy" : "UNHEALTHY"}`;
}

export function statusCommand(): Command {
  return new Command("status")
    .argument("[group]", "one group (default: all)")
    .description("per host: agent reachable, service running and healthy, main PID, config hashes (DRIFTED when not what fleet installed), what a reload can prove")
    .action(
      action((group: string | undefined, o: GlobalFlags, cmd: Command) =>
        withController(o, cmd, async (client, flags) => {
          const r = await client.unary<object, GroupStatusResponse>("groupStatus", { group: group ?? "" }, 30_000);
          if (flags.json) r.hosts.forEach((h) => printJson(h));
          else {
            const rows = r.hosts.map((h) => [h.group, h.name && h.name !== h.address ? `${h.name} (${h.address})` : h.address, h.service, hostState(h), h.mainPid ? String(h.mainPid) : "", h.evidence || "", [...h.configHashes, h.error ? `(${h.error})` : ""].filter(Boolean).join(" ")]);
            formatColumns([["GROUP", "HOST", "SERVICE", "STATE", "PID", "EVIDENCE", "CONFIG / DETAIL"], ...rows]).forEach((l) => console.log(l));
          }
          return statusExitCode(r.hosts);
        }, "read"),
      ),
    );
}

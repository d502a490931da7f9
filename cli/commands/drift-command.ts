// `fleet drift [GROUP]`: config files whose live hash differs from what fleet last installed or
// restored on that host. Exit 0 no drift, 1 drift found, 3 a host could not be asked (its files
// are unknown, so "no drift" cannot be claimed).
import { Command } from "commander";
import type { GroupStatusResponse, HostStatus } from "../../proto/gen/fleet/controller/v1/controller.js";
import { action } from "../command-action.js";
import { withController, type GlobalFlags } from "../controller-session.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { formatColumns } from "../output/columns.js";
import { printJson } from "../output/json-output.js";

const short = (sha: string) => (sha ? sha.slice(0, 12) : "(absent)");

/** Hosts whose files are unknown: the agent cannot be reached, refused the controller, or does not declare the service. */
function cannotTell(h: HostStatus): boolean {
  return !h.reachable || h.state === "denied" || h.state === "not_declared";
}

export function driftExitCode(hosts: HostStatus[]): ExitCode {
  if (hosts.some(cannotTell)) return EXIT.unreachable;
  return hosts.some((h) => h.files.some((f) => f.drifted)) ? EXIT.failed : EXIT.ok;
}

function driftRows(hosts: HostStatus[]) {
  return hosts.flatMap((h) => h.files.filter((f) => f.drifted).map((f) => ({ group: h.group, host: h.name || h.address, address: h.address, path: f.path, live: f.exists ? f.liveSha256 : "", desired: f.desiredSha256 })));
}

export function driftCommand(): Command {
  return new Command("drift")
    .argument("[group]", "one group (default: all)")
    .description("config files changed outside fleet: live hash vs the one fleet last installed (exit 1 when any drifted, 3 when a host cannot be asked)")
    .addHelpText("after", "\nThe next run of a schedule pushing those paths restores them on the drifted hosts only; fleet schedule run NAME --force pushes to every host.")
    .action(
      action((group: string | undefined, o: GlobalFlags, cmd: Command) =>
        withController(o, cmd, async (client, flags) => {
          const r = await client.unary<object, GroupStatusResponse>("groupStatus", { group: group ?? "" }, 30_000);
          const rows = driftRows(r.hosts);
          const unreachable = r.hosts.filter(cannotTell);
          if (flags.json) rows.forEach((d) => printJson(d));
          else if (rows.length) formatColumns([["GROUP", "HOST", "PATH", "LIVE", "DESIRED (fleet installed)"], ...rows.map((d) => [d.group, d.host, d.path, short(d.live), short(d.desired)])]).forEach((l) => console.log(l));
          else if (unreachable.length === 0) console.log(`no drift: every config file fleet installed${group ? ` in ${group}` : ""} is as fleet left it`);
          for (const h of unreachable) console.error(`fleet: ${h.name || h.address}: cannot tell drift: ${h.error}`);
          return driftExitCode(r.hosts);
        }, "read"),
      ),
    );
}

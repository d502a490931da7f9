// `fleet certs init|issue`: the fleet CA and its certificates.
import { Command } from "commander";
import { action } from "../command-action.js";
import { EXIT, UsageError } from "../exit-codes.js";

export function certsCommand(): Command {
  const certs = new Command("certs").description("create the fleet CA and issue agent, controller and operator certificates (uses openssl)");
  certs
    .command("init")
    .description("create the fleet CA (ca.crt, ca.key) in --dir")
    .option("--dir <dir>", "where the CA and certificates live", "/etc/fleet/tls")
    .option("--days <n>", "validity", "3650")
    .action(
      action(async (o: { dir: string; days: string }) => {
        const { initCa } = await import("../certs/fleet-certs.js");
        const r = await initCa(o.dir, "fleet CA", Number(o.days));
        console.log(`created ${r.cert} and ${r.key} (keep ca.key off the servers)`);
        return EXIT.ok;
      }),
    );
  certs
    .command("issue")
    .description("issue a certificate signed by the fleet CA")
    .option("--dir <dir>", "where the CA is", "/etc/fleet/tls")
    .option("--agent <host>", "an agent's certificate, named by the host name or IP in the inventory")
    .option("--controller <name>", "the controller's certificate (client of agents)")
    .option("--operator <name>", "an operator's or a monitor's client certificate")
    .option("--days <n>", "validity", "825")
    .addHelpText("after", "\nExamples:\n  fleet certs init --dir ./tls\n  fleet certs issue --dir ./tls --agent web1.example.net\n  fleet certs issue --dir ./tls --controller controller\n  fleet certs issue --dir ./tls --operator monitoring")
    .action(
      action(async (own: { dir: string; agent?: string; controller?: string; operator?: string; days: string }, cmd: Command) => {
        // The program's global --controller (an address) shares the flag name; here it names a certificate.
        const o = { ...own, controller: own.controller ?? (cmd.optsWithGlobals().controller as string | undefined) };
        const chosen = (["agent", "controller", "operator"] as const).filter((k) => o[k]);
        if (chosen.length !== 1) throw new UsageError("give exactly one of --agent HOST, --controller NAME or --operator NAME");
        const role = chosen[0]!;
        const { issueCert } = await import("../certs/fleet-certs.js");
        const r = await issueCert(o.dir, role, o[role]!, Number(o.days));
        console.log(`issued ${r.cert} and ${r.key}`);
        return EXIT.ok;
      }),
    );
  return certs;
}

// `fleet agent describe|status|reload|probe ADDRESS [SERVICE]`: one agent, directly.
import { randomUUID } from "node:crypto";
import { Command, Option } from "commander";
import { durationOption } from "../duration-option.js";
import { action } from "../command-action.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import type { AgentClient } from "../../common/agent-client.js";
import { connectAgent, type AgentConnectionFlags } from "./agent-connection.js";

interface CommonFlags extends AgentConnectionFlags {
  json?: boolean;
}


function withConnection(cmd: Command): Command {
  return cmd
    .option("--token-file <file>", "bearer token file (or FLEET_TOKEN_FILE)")
    .option("--tls-ca <file>", "CA certificate for mutual TLS")
    .option("--tls-cert <file>", "client certificate")
    .option("--tls-key <file>", "client key")
    .option("--server-name <name>", "expected name in the agent's certificate")
    .addOption(durationOption("--deadline <duration>", "deadline for the call"));
}

/** Runs `work` with a client for one agent, built from the command's and the global flags; always closes it. */
async function withAgent<F extends CommonFlags>(address: string, own: F, cmd: Command, work: (client: AgentClient, flags: F) => Promise<ExitCode>): Promise<ExitCode> {
  const flags = { ...cmd.optsWithGlobals(), ...own } as F;
  const client = await connectAgent(address, flags);
  try {
    return await work(client, flags);
  } finally {
    client.close();
  }
}

export function agentCommand(): Command {
  const agent = new Command("agent").description("talk to one agent directly (debugging)");
  const print = (flags: CommonFlags, value: unknown, human: () => string) => console.log(flags.json ? JSON.stringify(value, null, 2) : human());

  withConnection(agent.command("describe").argument("<address>", "HOST:PORT or unix:/PATH").description("agent version, host and declared services")).action(
    action((address: string, own: CommonFlags, cmd: Command) =>
      withAgent(address, own, cmd, async (client, flags) => {
        const d = await client.describe();
        print(flags, d, () =>
          [
            `${d.hostname} — fleet-agent ${d.agentVersion}, running as ${d.runAsUser}`,
            ...d.services.map((s) => `  ${s.name}: ${s.reloadSummary}${s.hasCheck ? ", config check" : ""}, generation ${s.generation}${s.healthProbes.length ? `, probes: ${s.healthProbes.join("; ")}` : ""}${s.allowRestart ? ", restart allowed" : ""}`),
          ].join("\n"),
        );
        return EXIT.ok;
      }),
    ),
  );

  withConnection(agent.command("status").argument("<address>").argument("[service]").description("main process, workers, what a reload can prove, probes and config hashes")).action(
    action((address: string, service: string | undefined, own: CommonFlags, cmd: Command) =>
      withAgent(address, own, cmd, async (client, flags) => {
        const s = await client.status(service ?? "");
        print(flags, s, () =>
          s.services
            .map((x) =>
              [
                `${s.hostname} ${x.name}: ${x.running ? "running" : "NOT RUNNING"}, ${x.healthy ? "healthy" : "UNHEALTHY"}${x.error ? ` (${x.error})` : ""}`,
                x.main ? `  main pid ${x.main.pid} (${x.main.user}) ${x.main.command}` : "",
                x.workerPids.length ? `  workers ${x.workerPids.join(", ")}` : "",
                x.evidence ? `  evidence ${x.evidence}` : "",
                ...x.probes.map((p) => `  probe ${p.probe}: ${p.ok ? "ok" : "FAIL"} ${p.detail} (${p.durationMs}ms)`),
                ...x.configs.map((c) => `  config ${c.path} ${c.exists ? c.sha256.slice(0, 12) : "(missing)"}`),
              ].filter(Boolean).join("\n"),
            )
            .join("\n"),
        );
        return s.services.some((x) => !x.running || !x.healthy) ? EXIT.failed : EXIT.ok;
      }),
    ),
  );

  withConnection(agent.command("probe").argument("<address>").argument("<service>").description("run a service's health probes once")).action(
    action((address: string, service: string, own: CommonFlags, cmd: Command) =>
      withAgent(address, own, cmd, async (client, flags) => {
        const r = await client.probe(service);
        print(flags, r, () => [`${r.service}: ${r.healthy ? "healthy" : "UNHEALTHY"}`, ...r.results.map((p) => `  ${p.probe}: ${p.ok ? "ok" : "FAIL"} ${p.detail} (${p.durationMs}ms)`)].join("\n"));
        return r.healthy ? EXIT.ok : EXIT.failed;
      }),
    ),
  );

  withConnection(agent.command("reload").argument("<address>").argument("<service>").description("reload one service and print the evidence"))
    .option("--request-id <id>", "idempotency key (default: a new UUID); a retry with the same id does nothing again")
    .option("--allow-restart", "accept a restart (new main process) as success, if the service allows it")
    .addOption(durationOption("--generation-timeout <duration>", "how long to wait for a new generation"))
    .addOption(durationOption("--healthy-for <duration>", "how long probes must stay green afterwards"))
    .action(
      action((address: string, service: string, own: CommonFlags & { requestId?: string; allowRestart?: boolean; generationTimeout?: number; healthyFor?: number }, cmd: Command) =>
        withAgent(address, own, cmd, async (client, flags) => {
        const r = await client.reload({
          requestId: flags.requestId ?? randomUUID(),
          service,
          allowRestart: flags.allowRestart ?? false,
          generationTimeoutMs: flags.generationTimeout ?? 0,
          healthyForMs: flags.healthyFor ?? 0,
        });
        const { formatReload, reloadToJson } = await import("../output/reload-output.js");
        print(flags, reloadToJson(r), () => formatReload(r));
          return r.ok ? EXIT.ok : EXIT.failed;
        }),
      ),
    );
  return agent;
}

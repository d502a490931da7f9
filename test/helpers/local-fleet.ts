// N real web services, each under its own real agent (gRPC on loopback port 0).
import { writeFileSync } from "node:fs";
import { startAgent, type AgentHarness } from "./agent-harness.js";
import { startWebService, type WebService } from "./web-service.js";

export interface FleetHost {
  name: string;
  address: string;
  service: WebService;
  agent: AgentHarness;
  reloads(): Promise<number>;
  setHealthy(healthy: boolean): void;
}

export async function startLocalFleet(dir: string, n: number, prefix = "h", options: { healthyFor?: string; declareConfig?: boolean } = {}): Promise<{ hosts: FleetHost[]; stop(): Promise<void> }> {
  // Every start is awaited and a partial start stopped whole: a host that failed must not leave the others running.
  const started = await Promise.allSettled(
    Array.from({ length: n }, async (_, i): Promise<FleetHost> => {
      const name = `${prefix}${i + 1}`;
      const service = await startWebService(dir, name);
      const agent = await startAgent(`
listen: 127.0.0.1:0
insecure: true
services:
  web:
    reload: { signal: HUP, pidfile: ${service.pidfile} }
    generation: { http: "http://127.0.0.1:${service.port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${service.port}/healthz" }]
    healthy_for: ${options.healthyFor ?? "200ms"}
${options.declareConfig ? `    configs: [{ path: ${service.configFile} }]\n` : ""}state_dir: ${dir}/${name}-state
`).catch(async (err: unknown) => {
        await service.stop();
        throw err;
      });
      return {
        name,
        address: agent.address,
        service,
        agent,
        reloads: async () => (await service.generation()).reloads,
        setHealthy: (healthy) => writeFileSync(service.configFile, JSON.stringify({ healthy })),
      };
    }),
  );
  const hosts = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const stop = () => Promise.all(hosts.map(async (h) => (await h.agent.stop(), await h.service.stop()))).then(() => undefined);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { hosts, stop };
}

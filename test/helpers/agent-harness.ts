// A real agent (AgentCore + gRPC server on port 0) in the test process, and a
// real client to it. A config without state_dir gets a scratch one, removed
// at stop(): never the product default /var/lib/fleet-agent on the machine.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createAgentClient, type AgentClient } from "../../common/agent-client.js";
import { parseYamlText } from "../../common/yaml-file.js";
import { silentLogger } from "../../common/logger.js";
import { AgentCore, type AgentDeps } from "../../agent/agent-core.js";
import { systemHostFacts } from "../../agent/config/host-facts.js";
import { parseAgentConfig } from "../../agent/config/parse-agent-config.js";
import { processGroupRunner } from "../../agent/process/command-runner.js";
import { SystemdClient } from "../../agent/process/systemd-client.js";
import { startAgentServer } from "../../agent/server/agent-server.js";

export interface AgentHarness {
  address: string;
  client: AgentClient;
  core: AgentCore;
  stop(): Promise<void>;
}

export async function startAgent(yaml: string, clientOptions: Parameters<typeof createAgentClient>[1] = {}, deps: Partial<AgentDeps> = {}): Promise<AgentHarness> {
  const data = parseYamlText("test-agent.yaml", yaml).data;
  const ownState = isMapping(data) && data.state_dir === undefined ? mkdtempSync(path.join(os.tmpdir(), "fleet-agent-state-")) : undefined;
  const dropState = () => ownState && rmSync(ownState, { recursive: true, force: true });
  const parsed = parseAgentConfig(ownState ? { ...(data as Record<string, unknown>), state_dir: ownState } : data, systemHostFacts());
  if (!parsed.ok) {
    dropState();
    throw new Error("test agent config invalid: " + JSON.stringify(parsed.problems));
  }
  const core = new AgentCore(parsed.value, { runner: processGroupRunner, systemd: new SystemdClient(processGroupRunner), logger: silentLogger, ...deps });
  const server = await startAgentServer(core, parsed.value, silentLogger).catch((err: unknown) => {
    dropState();
    throw err;
  });
  const client = createAgentClient(server.address, clientOptions);
  return {
    address: server.address,
    client,
    core,
    async stop() {
      client.close();
      await server.shutdown(2000);
      dropState();
    },
  };
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

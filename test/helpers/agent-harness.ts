// A real agent (AgentCore + gRPC server on port 0) in the test process, and a
// real client to it.
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
  const parsed = parseAgentConfig(parseYamlText("test-agent.yaml", yaml).data, systemHostFacts());
  if (!parsed.ok) throw new Error("test agent config invalid: " + JSON.stringify(parsed.problems));
  const core = new AgentCore(parsed.value, { runner: processGroupRunner, systemd: new SystemdClient(processGroupRunner), logger: silentLogger, ...deps });
  const server = await startAgentServer(core, parsed.value, silentLogger);
  const client = createAgentClient(server.address, clientOptions);
  return {
    address: server.address,
    client,
    core,
    async stop() {
      client.close();
      await server.shutdown(2000);
    },
  };
}

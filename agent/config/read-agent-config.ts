// Reads agent.yaml from disk and compiles it completely (token, TLS files,
// owners resolved); throws ConfigError listing every problem with its field
// path and line. Start-up, SIGHUP and --check-config all run this.
import { readYamlFile, withLines } from "../../common/yaml-file.js";
import type { AgentConfig } from "./agent-config.js";
import { systemHostFacts } from "./host-facts.js";
import { parseAgentConfig } from "./parse-agent-config.js";

export async function readAgentConfig(file: string): Promise<AgentConfig> {
  const source = await readYamlFile(file);
  const result = parseAgentConfig(source.data, systemHostFacts());
  if (!result.ok) throw withLines(source, result.problems);
  return result.value;
}

import { readYamlFile, withLines } from "../../common/yaml-file.js";
import type { Inventory } from "./inventory.js";
import { parseInventory } from "./parse-inventory.js";
import { resolveWebhookSecrets } from "../webhooks/webhook-config.js";
import { resolveCredentials } from "./resolve-credentials.js";

/** Reads fleet.yaml and the credential files it names; throws ConfigError listing every problem with file, line and field. */
export async function readInventory(file: string): Promise<Inventory> {
  const source = await readYamlFile(file);
  const result = parseInventory(source.data);
  if (!result.ok) throw withLines(source, result.problems);
  // Every file the inventory names is read now, and every problem reported at once.
  const [resolved, secretProblems] = await Promise.all([resolveCredentials(result.value), resolveWebhookSecrets(result.value.webhooks ?? [])]);
  const problems = [...(resolved.ok ? [] : resolved.problems), ...secretProblems];
  if (!resolved.ok || problems.length) throw withLines(source, problems);
  return resolved.value;
}

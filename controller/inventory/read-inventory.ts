import { readYamlFile, withLines } from "../../common/yaml-file.js";
import type { Inventory } from "./inventory.js";
import { parseInventory } from "./parse-inventory.js";
import { resolveWebhookSecrets } from "../webhooks/webhook-config.js";

/** Reads fleet.yaml; throws ConfigError listing every problem with file, line and field. */
export async function readInventory(file: string): Promise<Inventory> {
  const source = await readYamlFile(file);
  const result = parseInventory(source.data);
  if (!result.ok) throw withLines(source, result.problems);
  const secretProblems = await resolveWebhookSecrets(result.value.webhooks ?? []);
  if (secretProblems.length) throw withLines(source, secretProblems);
  return result.value;
}

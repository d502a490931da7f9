import { readYamlFile, withLines } from "../../common/yaml-file.js";
import type { Inventory } from "./inventory.js";
import { parseInventory } from "./parse-inventory.js";
import { resolveCredentials } from "./resolve-credentials.js";

/** Reads fleet.yaml and the credential files it names; throws ConfigError listing every problem with file, line and field. */
export async function readInventory(file: string): Promise<Inventory> {
  const source = await readYamlFile(file);
  const result = parseInventory(source.data);
  if (!result.ok) throw withLines(source, result.problems);
  const resolved = await resolveCredentials(result.value);
  if (!resolved.ok) throw withLines(source, resolved.problems);
  return resolved.value;
}

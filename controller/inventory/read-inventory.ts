import { readYamlFile, withLines } from "../../common/yaml-file.js";
import type { Inventory } from "./inventory.js";
import { parseInventory } from "./parse-inventory.js";

/** Reads fleet.yaml; throws ConfigError listing every problem with file, line and field. */
export async function readInventory(file: string): Promise<Inventory> {
  const source = await readYamlFile(file);
  const result = parseInventory(source.data);
  if (!result.ok) throw withLines(source, result.problems);
  return result.value;
}

// Hashes of the config files a service declares, for Status and evidence.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { ConfigFileSpec } from "../config/agent-config.js";

export interface ConfigFileState {
  path: string;
  exists: boolean;
  sha256: string;
  size: number;
}

export async function configFileStates(configs: ConfigFileSpec[]): Promise<ConfigFileState[]> {
  return Promise.all(
    configs.map(async ({ path }) => {
      try {
        const data = await readFile(path);
        return { path, exists: true, sha256: createHash("sha256").update(data).digest("hex"), size: data.length };
      } catch {
        return { path, exists: false, sha256: "", size: 0 };
      }
    }),
  );
}

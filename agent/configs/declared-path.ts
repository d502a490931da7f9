// Maps a requested path to a declared config file, refusing anything else:
// undeclared paths and '..'. Symlinks are refused where the file is used
// (VerifiedDir), since a check here could be raced.
import path from "node:path";
import { permissionDenied } from "../../common/errors.js";
import type { ConfigFileSpec, ServiceConfig } from "../config/agent-config.js";

export function declaredConfig(svc: ServiceConfig, requested: string): ConfigFileSpec {
  if (!requested.startsWith("/")) throw permissionDenied(`config path must be absolute, got ${JSON.stringify(requested)}`);
  if (requested.split("/").includes("..")) throw permissionDenied(`config path ${JSON.stringify(requested)} contains '..'; only declared paths are written`);
  const spec = svc.configs.find((c) => c.path === path.normalize(requested));
  if (!spec) {
    throw permissionDenied(`${requested} is not a config path of service ${svc.name}; declared: ${svc.configs.map((c) => c.path).join(", ") || "(none)"}`);
  }
  return spec;
}

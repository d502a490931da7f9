// Maps a requested path to a declared config file, refusing anything else:
// undeclared paths and '..'. Symlinks are refused where the file is used
// (VerifiedDir), since a check here could be raced.
import path from "node:path";
import { invalidArgument, permissionDenied } from "../../common/errors.js";
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

/** Every requested path of a set declared by the service, none twice, at least one. */
export function declaredSet(svc: ServiceConfig, requested: string[]): ConfigFileSpec[] {
  if (!requested.length) throw invalidArgument("no config files given");
  const specs = requested.map((p) => declaredConfig(svc, p));
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.path)) throw invalidArgument(`${s.path} appears twice in the set; each file may be given once`);
    seen.add(s.path);
  }
  return specs;
}

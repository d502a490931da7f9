// Maps a requested path to a declared config file, refusing anything else:
// undeclared paths, '..', symlinked files and symlinked parent directories.
import { lstat, readlink, realpath } from "node:fs/promises";
import path from "node:path";
import { permissionDenied } from "../../common/errors.js";
import type { ConfigFileSpec, ServiceConfig } from "../config/agent-config.js";

export async function declaredConfig(svc: ServiceConfig, requested: string): Promise<ConfigFileSpec> {
  if (!requested.startsWith("/")) throw permissionDenied(`config path must be absolute, got ${JSON.stringify(requested)}`);
  if (requested.split("/").includes("..")) throw permissionDenied(`config path ${JSON.stringify(requested)} contains '..'; only declared paths are written`);
  const spec = svc.configs.find((c) => c.path === path.normalize(requested));
  if (!spec) {
    throw permissionDenied(`${requested} is not a config path of service ${svc.name}; declared: ${svc.configs.map((c) => c.path).join(", ") || "(none)"}`);
  }
  const dir = path.dirname(spec.path);
  const realDir = await realpath(dir).catch(() => undefined);
  if (realDir === undefined) throw permissionDenied(`directory ${dir} of ${spec.path} does not exist`);
  if (realDir !== dir) throw permissionDenied(`${spec.path} is refused: its directory resolves to ${realDir} through a symlink, outside the declared path`);
  const st = await lstat(spec.path).catch(() => undefined);
  if (st?.isSymbolicLink()) {
    throw permissionDenied(`${spec.path} is a symlink to ${await readlink(spec.path)}; fleet only replaces regular files at declared paths`);
  }
  if (st && !st.isFile()) throw permissionDenied(`${spec.path} is not a regular file`);
  return spec;
}

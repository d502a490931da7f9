// `{cert, key, ca}`: the TLS files of a controller listener or of the agents' mutual TLS.
import { absolutePath, noUnknownKeys, record, type Path, type Problems } from "../../common/field-checks.js";
import type { TlsPaths } from "./inventory.js";

export function tlsPaths(raw: unknown, path: Path, p: Problems): TlsPaths | undefined {
  const t = record(raw, path, p);
  if (!t) return undefined;
  noUnknownKeys(t, ["cert", "key", "ca"], path, p);
  const [cert, key, ca] = (["cert", "key", "ca"] as const).map((k) => absolutePath(t[k], [...path, k], p));
  return cert && key && ca ? { cert, key, ca } : undefined;
}

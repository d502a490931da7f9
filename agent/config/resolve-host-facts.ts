// Resolves what agent.yaml names on the host (token digest, TLS bytes, owners,
// groups) while the config is compiled, so a missing file or user is a config
// problem with its field, never a failure later.
import { createHash } from "node:crypto";
import type { Path, Problems } from "../../common/field-checks.js";
import type { TlsMaterial } from "./agent-config.js";
import type { HostFacts } from "./host-facts.js";

export const MIN_TOKEN_CHARS = 16;
const MAX_TOKEN_BYTES = 4096;
const MAX_PEM_BYTES = 1024 * 1024;

/** sha256 of the token, for constant-time comparison; the token itself is not kept. */
export function resolveToken(file: string, host: HostFacts, path: Path, p: Problems): Buffer | undefined {
  const r = host.readSmallFile(file, MAX_TOKEN_BYTES);
  if (!r.ok) return p.add(path, r.reason);
  const token = r.bytes.toString("utf8").trim();
  if (token.length < MIN_TOKEN_CHARS) {
    return p.add(path, `${file} holds ${token.length} characters; use at least ${MIN_TOKEN_CHARS} (e.g. openssl rand -hex 32)`);
  }
  return createHash("sha256").update(token).digest();
}

export function resolveTls(files: { cert: string; key: string; ca: string }, host: HostFacts, p: Problems): TlsMaterial | undefined {
  const read = (key: keyof typeof files) => {
    const r = host.readSmallFile(files[key], MAX_PEM_BYTES);
    return r.ok ? r.bytes : p.add(["tls", key], r.reason);
  };
  const cert = read("cert");
  const key = read("key");
  const ca = read("ca");
  if (!cert || !key || !ca) return undefined;
  const problem = host.tlsProblem({ cert, key, ca });
  return problem ? p.add(["tls"], problem) : { cert, key, ca };
}

/** "user" (its primary group) or "user:group". */
export function resolveOwner(owner: string, host: HostFacts, path: Path, p: Problems): { uid: number; gid: number } | undefined {
  const [userName, groupName, ...rest] = owner.split(":");
  if (rest.length || !userName) return p.add(path, `must be "user" or "user:group", got ${JSON.stringify(owner)}`);
  const user = host.user(userName);
  if (!user) return p.add(path, `user ${JSON.stringify(userName)} does not exist on this host`);
  if (groupName === undefined) return user;
  const gid = resolveGroup(groupName, host, path, p);
  return gid === undefined ? undefined : { uid: user.uid, gid };
}

export function resolveGroup(name: string, host: HostFacts, path: Path, p: Problems): number | undefined {
  const gid = host.group(name);
  return gid === undefined ? p.add(path, `group ${JSON.stringify(name)} does not exist on this host`) : gid;
}

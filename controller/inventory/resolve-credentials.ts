// Reads and checks the credential files an inventory names — the agents'
// bearer token or mutual-TLS files, the controller listener's TLS files and
// those of the metrics and web listeners —
// so that a missing, unreadable or malformed one is a config problem at
// start-up and on SIGHUP, never a surprise in the middle of a rollout.
// Only small regular files are read (a FIFO, a device or a directory in a
// credential's place is refused at once, never waited on).
import { createHash } from "node:crypto";
import { readSmallFile } from "../../common/read-small-file.js";
import type { ConfigProblem } from "../../common/errors.js";
import { tlsMaterialProblem } from "../../common/tls-material.js";
import type { CredentialFile, Credentials, Inventory, ParsedInventory, TlsFiles, TlsPaths } from "./inventory.js";

type Path = (string | number)[];

export async function resolveCredentials(parsed: ParsedInventory): Promise<{ ok: true; value: Inventory } | { ok: false; problems: ConfigProblem[] }> {
  const problems: ConfigProblem[] = [];
  // One set of files named twice (tls: true, or the top-level tls serving the listener) is read once, and a problem reported once.
  const seen = new Map<string, Promise<TlsFiles | undefined>>();
  const tlsOnce = (path: Path, paths: TlsPaths) => {
    const key = JSON.stringify([paths.cert, paths.key, paths.ca]);
    if (!seen.has(key)) seen.set(key, readTls(path, paths, problems));
    return seen.get(key)!;
  };
  const access = parsed.agents.access;
  let agents: Credentials["agents"] = { mode: "insecure" };
  if (access.mode === "token") {
    const token = await readCredential(["agents", "token_file"], access.tokenFile, problems);
    if (token && token.bytes.toString("utf8").trim() === "") problems.push({ path: ["agents", "token_file"], message: `${access.tokenFile} is empty` });
    else if (token) agents = { mode: "token", token };
  } else if (access.mode === "tls") {
    const tls = await tlsOnce(["tls"], access);
    if (tls) agents = { mode: "tls", tls };
  }
  const listener = !parsed.controller.listen.startsWith("unix:") && parsed.controller.tls ? await tlsOnce(["controller", "tls"], parsed.controller.tls) : undefined;
  const metrics = parsed.metrics?.tls ? await tlsOnce(["metrics", "tls"], parsed.metrics.tls) : undefined;
  const web = parsed.web?.tls ? await tlsOnce(["web", "tls"], parsed.web.tls) : undefined;
  if (problems.length) return { ok: false, problems };
  return { ok: true, value: { ...parsed, credentials: { agents, listener, ...(metrics ? { metrics } : {}), ...(web ? { web } : {}) } } };
}

/** A bearer token or a PEM file (a certificate chain, a key, a CA bundle) is far below this. */
export const MAX_CREDENTIAL_BYTES = 1024 * 1024;

/** The file's bytes and digest, or a problem naming the field and why. */
export async function readCredential(path: Path, file: string, problems: ConfigProblem[]): Promise<CredentialFile | undefined> {
  const read = readSmallFile(file, MAX_CREDENTIAL_BYTES);
  if (!read.ok) {
    problems.push({ path, message: read.code ? `cannot read ${file}: ${read.code}` : read.reason });
    return undefined;
  }
  return { field: path.join("."), file, bytes: read.bytes, sha256: createHash("sha256").update(read.bytes).digest("hex") };
}

async function readTls(path: Path, paths: TlsPaths, problems: ConfigProblem[]): Promise<TlsFiles | undefined> {
  const [cert, key, ca] = await Promise.all((["cert", "key", "ca"] as const).map((k) => readCredential([...path, k], paths[k], problems)));
  if (!cert || !key || !ca) return undefined;
  // Loaded as the listener will load them: what passes here cannot fail when a SIGHUP swaps them in.
  const problem = tlsMaterialProblem({ cert: cert.bytes, key: key.bytes, ca: ca.bytes }, cert.file);
  if (!problem) return { cert, key, ca };
  problems.push({ path: [...path, problem.field], message: `${{ cert, key, ca }[problem.field].file} ${problem.message}` });
  return undefined;
}

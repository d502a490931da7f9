// What a config rollout pushes, checked and turned into per-host file sets.
// Pure: rendering is render-config-set.ts, storing is the caller's.
import { createHash } from "node:crypto";
import type { StepFile } from "../history/history-store.js";
import type { RenderedFile, SetFile } from "./render-config-set.js";

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Every problem with the set as given: paths absolute, without '..', each once; plain files not empty. */
export function setProblems(files: SetFile[]): string[] {
  if (files.length === 0) return ["a config rollout needs at least one file (--file LOCAL:REMOTE or --template LOCAL:REMOTE)"];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const f of files) {
    const flag = f.template ? "--template" : "--file";
    if (!f.path.startsWith("/") || f.path.split("/").includes("..")) problems.push(`${flag}: the remote path must be absolute without '..', got ${JSON.stringify(f.path)}`);
    else if (seen.has(f.path)) problems.push(`${flag}: ${f.path} is in the set twice`);
    if (f.content.length === 0 && !f.template) problems.push(`${flag} for ${f.path} is empty`);
    seen.add(f.path);
  }
  return problems;
}

/** A step's targets: the hash of each rendered file. */
export function stepTargets(files: RenderedFile[]): StepFile[] {
  return files.map((f) => ({ path: f.path, target: sha256(f.content) }));
}

/**
 * One hash for the rollout record: a single plain file's own hash (as before
 * sets), else a digest over every host's path and target.
 */
export function setDigest(perHost: Map<string, RenderedFile[]>): string {
  const sets = [...perHost.values()];
  const first = sets[0] ?? [];
  if (first.length === 1 && sets.every((s) => s.length === 1 && s[0]!.content.equals(first[0]!.content))) return sha256(first[0]!.content);
  const lines = [...perHost.entries()].flatMap(([host, files]) => files.map((f) => `${host} ${f.path} ${sha256(f.content)}`));
  return sha256(Buffer.from(lines.sort().join("\n")));
}

/** How the set reads in plans and summaries: "/etc/a.conf, /etc/b.conf (template)". */
export function describeSet(files: SetFile[]): string {
  return files.map((f) => `${f.path}${f.template ? " (template)" : ""}`).join(", ");
}

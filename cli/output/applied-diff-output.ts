// `fleet show ID --diff`: per host, each file of the set (hash before -> after) and the unified
// diff the push applied, as recorded on the host's step.
import type { ShowResponse } from "../../proto/gen/fleet/controller/v1/controller.js";
import { printable } from "./printable.js";

const short = (sha: string) => (sha ? sha.slice(0, 12) : "(absent)");

export function formatAppliedDiffs(r: ShowResponse): string[] {
  return appliedDiffLines(r).map(printable);
}

function appliedDiffLines(r: ShowResponse): string[] {
  const lines: string[] = [];
  for (const s of r.steps) {
    if (!s.files.length && !s.diff) continue;
    lines.push(`  === ${s.host}${s.address && s.address !== s.host ? ` (${s.address})` : ""}: ${s.outcome || s.status}`);
    for (const f of s.files) lines.push(`    ${f.path}: ${f.newSha256 || f.previousSha256 ? `${short(f.previousSha256)} -> ${short(f.newSha256)}` : `target ${short(f.targetSha256)} (not reported)`}`);
    if (s.diff) lines.push(...s.diff.replace(/\n$/, "").split("\n").map((l) => `    ${l}`));
  }
  return lines;
}

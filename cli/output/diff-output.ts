// What a config rollout would change, per host: the full unified diffs (--dry-run), or a
// summary of +/- lines per host and the first diff (the confirmation prompt).
import type { HostDiff, Plan, RolloutEvent } from "../../proto/gen/fleet/controller/v1/controller.js";
import { printable } from "./printable.js";

function fileLine(f: HostDiff["files"][number]): string {
  if (!f.unifiedDiff && f.liveSha256 === f.newSha256) return `${f.path} unchanged`;
  const what = f.binary ? "binary, differs" : `+${f.addedLines} -${f.removedLines}`;
  return `${f.path} ${f.liveExists ? "" : "(new file) "}${what}${f.truncated ? " (diff truncated)" : ""}`;
}

/** One line per host: each file's +/- line counts, or why the host could not say. */
export function formatDiffSummary(diffs: HostDiff[]): string[] {
  return formatDiffSummaryRaw(diffs).map(printable);
}

function formatDiffSummaryRaw(diffs: HostDiff[]): string[] {
  return diffs.map((d) => `  ${d.host}${d.host === d.address ? "" : ` (${d.address})`}: ${d.error ? `no diff: ${d.error}` : d.files.map(fileLine).join(", ")}`);
}

function hostDiffText(d: HostDiff): string[] {
  const head = `=== ${d.host}${d.host === d.address ? "" : ` (${d.address})`}`;
  if (d.error) return [head, `no diff: ${d.error}`];
  const changed = d.files.filter((f) => f.unifiedDiff);
  if (changed.length === 0) return [head, "no change: every file already matches"];
  return [head, ...changed.flatMap((f) => [...f.unifiedDiff.replace(/\n$/, "").split("\n"), ...(f.truncated ? [`... (diff of ${f.path} truncated)`] : [])])];
}

/** Every host's diff. */
export function formatDiffs(diffs: HostDiff[]): string[] {
  return formatDiffsRaw(diffs).map(printable);
}

function formatDiffsRaw(diffs: HostDiff[]): string[] {
  return diffs.flatMap(hostDiffText);
}

/** The summary, then the diff of the first host that changes anything. */
export function formatDiffPrompt(diffs: HostDiff[]): string[] {
  return formatDiffPromptRaw(diffs).map(printable);
}

function formatDiffPromptRaw(diffs: HostDiff[]): string[] {
  const first = diffs.find((d) => d.files.some((f) => f.unifiedDiff));
  return ["changes per host:", ...formatDiffSummary(diffs), ...(first ? [`first diff (${first.host}):`, ...hostDiffText(first).slice(1)] : [])];
}

/** Passes a rollout's events through, keeping the plan's diffs. */
export class DiffCollector {
  diffs: HostDiff[] = [];

  async *tap(events: AsyncGenerator<RolloutEvent>): AsyncGenerator<RolloutEvent> {
    for await (const e of events) {
      if (e.kind === "plan" && e.plan?.diffs.length) this.diffs = e.plan.diffs;
      yield e;
    }
  }
}

/** The lines a plan adds about hosts left out by --hosts/--select. */
export function excludedLines(plan: Plan | undefined): string[] {
  return (plan?.excluded ?? []).map((x) => `  not selected: ${x}`);
}

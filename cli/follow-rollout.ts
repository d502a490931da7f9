// Follows a rollout's event stream to its end with the right display, asks before starting, and
// turns how the rollout ended into the exit code.
import { createInterface } from "node:readline/promises";
import type { RolloutEvent, RolloutSummary } from "../proto/gen/fleet/controller/v1/controller.js";
import type { ControllerClient } from "./controller-client.js";
import type { GlobalFlags } from "./controller-session.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { DiffCollector, formatDiffPrompt, formatDiffs } from "./output/diff-output.js";
import { createRolloutDisplay } from "./output/rollout-display.js";

/** How long a CLI follows a rollout before letting go (the rollout itself continues). */
export const FOLLOW_MS = 24 * 3_600_000;

/** Returns the exit code the rollout's end calls for (a dry run: its preflight's). */
export async function followRollout(events: AsyncGenerator<RolloutEvent>, flags: GlobalFlags, abort: AbortController): Promise<ExitCode> {
  const display = createRolloutDisplay(flags.json ? "json" : process.stdout.isTTY ? "tty" : "lines");
  let id = 0;
  let final: RolloutEvent | undefined;
  let preflight: RolloutEvent | undefined;
  const unreachable = new Set<string>();
  const onInt = () => {
    abort.abort();
    process.stderr.write(`\nfleet: stopped following${id ? `; rollout ${id} continues on the controller (fleet follow ${id} re-attaches, fleet abort ${id} stops it)` : ""}\n`);
  };
  process.once("SIGINT", onInt);
  try {
    for await (const e of events) {
      if (e.rolloutId) id = Number(e.rolloutId);
      display.event(e);
      if (e.kind === "finished") final = e;
      if (e.kind === "preflight") preflight = e;
      if (e.kind === "preflight_failed" && e.outcome === "unreachable") unreachable.add(e.host);
    }
  } finally {
    process.removeListener("SIGINT", onInt);
    display.end();
  }
  if (abort.signal.aborted) return EXIT.failed;
  if (final) return rolloutExitCode(final.outcome, final.rollout);
  if (preflight && !preflight.ok) return unreachable.size ? EXIT.unreachable : EXIT.failed;
  return EXIT.ok;
}

/**
 * 0 succeeded; 3 refused by its preflight because a host was unreachable (nothing was touched,
 * like `status` with an unreachable host); 1 anything else that did not succeed.
 */
export function rolloutExitCode(state: string, rollout: RolloutSummary | undefined): ExitCode {
  if (state === "succeeded") return EXIT.ok;
  const p = rollout?.preflight;
  if (state === "failed" && p?.refused && p.failed.some((f) => f.outcome === "unreachable")) return EXIT.unreachable;
  return EXIT.failed;
}

/** Whether to ask before acting: only with a person on both ends (stdin and stdout terminals) and no --json. */
export function canPrompt(flags: GlobalFlags): boolean {
  return Boolean(process.stdout.isTTY && process.stdin.isTTY && !flags.json);
}

export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * reload, rollout and resume: with --dry-run only the plan and its preflight; on a terminal
 * (without --yes) the same first, then the question; then the rollout, followed to its end.
 */
export async function planThenRun(
  client: ControllerClient,
  rpc: "reload" | "rollout" | "resume",
  request: object,
  flags: GlobalFlags & { dryRun?: boolean; yes?: boolean },
  question = "Proceed with this rollout? [y/N] ",
): Promise<ExitCode> {
  if (flags.dryRun || (canPrompt(flags) && !flags.yes)) {
    const preview = new DiffCollector();
    const code = await followRollout(preview.tap(client.stream(rpc, { ...request, dryRun: true }, 60_000)), flags, new AbortController());
    // Config rollouts: every host's diff on --dry-run; a summary and the first diff before the prompt.
    if (!flags.json && preview.diffs.length) (flags.dryRun ? formatDiffs(preview.diffs) : formatDiffPrompt(preview.diffs)).forEach((l) => console.log(l));
    if (flags.dryRun || code !== EXIT.ok) return code;
    if (!(await confirm(question))) {
      process.stderr.write("fleet: nothing changed\n");
      return EXIT.failed;
    }
  }
  const abort = new AbortController();
  return followRollout(client.stream(rpc, { ...request, dryRun: false }, FOLLOW_MS, abort.signal), flags, abort);
}

// Follows a rollout's event stream to its end with the right display, and asks before starting.
import { createInterface } from "node:readline/promises";
import type { RolloutEvent } from "../proto/gen/fleet/controller/v1/controller.js";
import type { GlobalFlags } from "./controller-session.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { createRolloutDisplay } from "./output/rollout-display.js";

/** How long a CLI follows a rollout before letting go (the rollout itself continues). */
export const FOLLOW_MS = 24 * 3_600_000;

/** Returns the exit code the rollout's end calls for (a dry run's plan alone is success). */
export async function followRollout(events: AsyncGenerator<RolloutEvent>, flags: GlobalFlags, abort: AbortController): Promise<ExitCode> {
  const display = createRolloutDisplay(flags.json ? "json" : process.stdout.isTTY ? "tty" : "lines");
  let id = 0;
  let final: RolloutEvent | undefined;
  const onInt = () => {
    abort.abort();
    process.stderr.write(`\nfleet: stopped following${id ? `; rollout ${id} continues on the controller (fleet abort ${id} stops it, fleet show ${id} shows it)` : ""}\n`);
  };
  process.once("SIGINT", onInt);
  try {
    for await (const e of events) {
      if (e.rolloutId) id = Number(e.rolloutId);
      display.event(e);
      if (e.kind === "finished") final = e;
    }
  } finally {
    process.removeListener("SIGINT", onInt);
    display.end();
  }
  if (abort.signal.aborted) return EXIT.failed;
  if (!final) return EXIT.ok;
  return final.outcome === "succeeded" ? EXIT.ok : EXIT.failed;
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

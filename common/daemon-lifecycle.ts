// What both daemons do with signals: SIGHUP re-reads the config file (an
// invalid one is refused and the running one kept); SIGTERM/SIGINT stop once.
import { ConfigError } from "./errors.js";
import type { Logger } from "./logger.js";

/**
 * On SIGHUP, reads the config again and applies it; `what` names it in the
 * log ("config", "inventory"). Reloads run one after another; anything the
 * read or the apply throws is logged as the refusal and the previous config
 * stays — a SIGHUP never takes the daemon down.
 */
export function reloadOnSighup<T>(what: string, read: () => Promise<T>, apply: ((next: T) => void) | Promise<(next: T) => void>, logger: Logger): void {
  // Registered before the daemon starts serving (SIGHUP's default action would kill it); a SIGHUP
  // that arrives while it starts waits for `apply` to exist.
  let queue = Promise.resolve();
  process.on("SIGHUP", () => {
    queue = queue
      .then(() => Promise.all([read(), apply]))
      .then(([next, applyNow]) => applyNow(next))
      .catch((err: unknown) =>
        logger.error(`${what} reload refused; keeping the previous ${what}`, { error: err instanceof Error ? err.message : String(err) }),
      );
  });
}

/** Resolves with the first SIGTERM or SIGINT; from the call on, neither kills the process by default. */
export function stopSignal(): Promise<string> {
  return new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
}

/** Resolves with exit code 0 once `stop` has run after the first SIGTERM or SIGINT (`signal`: one caught earlier). */
export function untilStopped(stop: (signal: string) => Promise<void>, signal: Promise<string> = stopSignal()): Promise<number> {
  return signal.then(stop).then(() => 0);
}

/** Reads a config for start-up; an invalid file prints every problem and yields exit code 2. */
export async function readConfigOrExit<T>(program: string, read: () => Promise<T>): Promise<T | number> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${program}: invalid config ${err.message}`);
      return 2;
    }
    throw err;
  }
}

// Every command's handler returns its exit code; commander ignores what an action returns, so
// this adapter keeps it for main to exit with.
import type { ExitCode } from "./exit-codes.js";

let exitCode: ExitCode = 0;

export function action<A extends unknown[]>(handler: (...args: A) => Promise<ExitCode>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    exitCode = await handler(...args);
  };
}

export function handlerExitCode(): ExitCode {
  return exitCode;
}

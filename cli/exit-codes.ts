// The CLI's exit codes, the error types that carry them, and the one mapping from an error to
// its code: 0 success, 1 rollout failed/halted/aborted, 2 usage or config error, 3 unreachable.
// (The error classes come from their own light modules: this mapping must not load gRPC.)
import { CommanderError } from "commander";
import { AgentCallError } from "../common/agent-call-error.js";
import { GRPC_CODE } from "../common/grpc-codes.js";
import { ControllerCallError } from "./controller-call-error.js";

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A user mistake (arguments, config): exit 2 with the message. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The exit code for an error that reached the top, and the message to print (none for commander's own). */
export function exitFor(err: unknown): { code: ExitCode; message?: string } {
  if (err instanceof CommanderError) return { code: err.exitCode === 0 ? EXIT.ok : EXIT.usage };
  if (err instanceof UsageError) return { code: EXIT.usage, message: err.message };
  if (err instanceof ControllerCallError) {
    const usage = err.code === GRPC_CODE.INVALID_ARGUMENT || err.code === GRPC_CODE.NOT_FOUND;
    return { code: err.unreachable ? EXIT.unreachable : usage ? EXIT.usage : EXIT.failed, message: err.message };
  }
  if (err instanceof AgentCallError) return { code: err.unreachable ? EXIT.unreachable : EXIT.failed, message: err.message };
  return { code: EXIT.failed, message: err instanceof Error ? err.message : String(err) };
}

// Exit codes of DESIGN.md, and the error types that carry them.
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** A user mistake (arguments, config): exit 2 with the message. */
export class UsageError extends Error {
  override name = "UsageError";
}

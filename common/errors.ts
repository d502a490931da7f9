// Typed errors shared by agent and controller. Each carries the gRPC-facing
// kind; `grpc-status.ts` maps kinds to status codes at the server boundary.
export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "permission_denied"
  | "unauthenticated"
  | "resource_exhausted"
  | "failed_precondition"
  | "already_exists"
  | "unavailable";

export class FleetError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "FleetError";
  }
}

export const invalidArgument = (msg: string) => new FleetError("invalid_argument", msg);
export const permissionDenied = (msg: string) => new FleetError("permission_denied", msg);
export const unauthenticated = (msg: string) => new FleetError("unauthenticated", msg);
export const notFound = (msg: string) => new FleetError("not_found", msg);
export const failedPrecondition = (msg: string) => new FleetError("failed_precondition", msg);
export const resourceExhausted = (msg: string) => new FleetError("resource_exhausted", msg);

/** A config file that failed validation; every problem is listed. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` + problems.map((p) => "  " + formatProblem(p)).join("\n"));
    this.name = "ConfigError";
  }
}

export interface ConfigProblem {
  /** Field path, e.g. ["services", "nginx", "reload", "signal"]. */
  path: (string | number)[];
  message: string;
  line?: number;
}

export function formatProblem(p: ConfigProblem): string {
  const field = p.path.length ? p.path.join(".") : "(top level)";
  return `${p.line ? `line ${p.line}: ` : ""}${field}: ${p.message}`;
}

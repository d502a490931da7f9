// The one place where errors become gRPC status codes. Known errors keep their
// message; anything else becomes INTERNAL with the detail logged, not sent.
import { Metadata, status, type ServiceError, type sendUnaryData } from "@grpc/grpc-js";
import type { AuthContext } from "@grpc/grpc-js/build/src/auth-context.js";
import { FleetError, type ErrorKind } from "./errors.js";
import type { Logger } from "./logger.js";

const codes: Record<ErrorKind, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  permission_denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  failed_precondition: status.FAILED_PRECONDITION,
  already_exists: status.ALREADY_EXISTS,
  unavailable: status.UNAVAILABLE,
};

export function toServiceError(err: unknown, logger: Logger, context: Record<string, unknown> = {}): Partial<ServiceError> {
  if (err instanceof FleetError) {
    const level = err.kind === "permission_denied" || err.kind === "unauthenticated" ? "warn" : "info";
    logger[level]("request refused", { ...context, kind: err.kind, error: err.message });
    return { code: codes[err.kind], details: err.message, metadata: new Metadata() };
  }
  logger.error("internal error", { ...context, error: err });
  return { code: status.INTERNAL, details: "internal error (see the server's log)", metadata: new Metadata() };
}

/** The caller's deadline as epoch milliseconds; Infinity when it set none. */
const deadlineMs = (d: Date | number | undefined) => (d === undefined ? Infinity : typeof d === "number" ? d : d.getTime());

/** Wraps an async unary implementation: result or mapped error, nothing else escapes. */
export function unary<Req, Res>(
  logger: Logger,
  rpc: string,
  impl: (request: Req, call: { metadata: Metadata; peer: string; cancelled: boolean; auth: AuthContext; deadlineMs: number }) => Promise<Res>,
  onError?: (err: unknown) => void,
) {
  return (call: { request: Req; metadata: Metadata; getPeer(): string; cancelled: boolean; getAuthContext(): AuthContext; getDeadline?(): Date | number }, callback: sendUnaryData<Res>) => {
    // Anything thrown synchronously (a bad request shape) takes the same path as a rejection.
    Promise.resolve()
      .then(() => impl(call.request, { metadata: call.metadata, peer: call.getPeer(), cancelled: call.cancelled, auth: call.getAuthContext(), deadlineMs: deadlineMs(call.getDeadline?.()) }))
      .then(
        (res) => callback(null, res),
        (err) => {
          onError?.(err);
          callback(toServiceError(err, logger, { rpc, peer: call.getPeer() }));
        },
      );
  };
}

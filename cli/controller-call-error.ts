// A failed call to the controller, in a module of its own so the exit-code mapping does not load gRPC.
import type { ServiceError, status } from "@grpc/grpc-js";
import { GRPC_CODE } from "../common/grpc-codes.js";
import { grpcMessage } from "../common/grpc-message.js";

export class ControllerCallError extends Error {
  readonly code: status;
  readonly unreachable: boolean;
  /** socketHint: what to say when a unix socket refused this user (it reads the controller's config, which this module must not load). */
  constructor(address: string, rpc: string, cause: ServiceError, socketHint?: (socket: string) => string) {
    const unreachable = cause.code === GRPC_CODE.UNAVAILABLE || cause.code === GRPC_CODE.DEADLINE_EXCEEDED;
    const denied = cause.code === GRPC_CODE.PERMISSION_DENIED || cause.code === GRPC_CODE.UNAUTHENTICATED;
    const text = grpcMessage(cause);
    const socketDenied = unreachable && address.startsWith("unix:") && /EACCES|permission denied/i.test(text);
    super(socketDenied && socketHint ? socketHint(address.slice(5)) : `${unreachable ? `controller ${address} unreachable: ` : denied ? "permission denied: " : ""}${text}`, { cause });
    this.name = "ControllerCallError";
    this.code = cause.code;
    this.unreachable = unreachable;
  }
}

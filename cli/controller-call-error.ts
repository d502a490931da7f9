// A failed call to the controller, in a module of its own so the exit-code mapping does not load gRPC.
import type { ServiceError, status } from "@grpc/grpc-js";
import { GRPC_CODE } from "../common/grpc-codes.js";

export class ControllerCallError extends Error {
  readonly code: status;
  readonly unreachable: boolean;
  constructor(address: string, rpc: string, cause: ServiceError) {
    const unreachable = cause.code === GRPC_CODE.UNAVAILABLE || cause.code === GRPC_CODE.DEADLINE_EXCEEDED;
    const denied = cause.code === GRPC_CODE.PERMISSION_DENIED || cause.code === GRPC_CODE.UNAUTHENTICATED;
    super(`${unreachable ? `controller ${address} unreachable: ` : denied ? "permission denied: " : ""}${cause.details || cause.message}`, { cause });
    this.name = "ControllerCallError";
    this.code = cause.code;
    this.unreachable = unreachable;
  }
}

// A failed call to an agent, in a module of its own so code that only checks for it (the CLI's
// exit codes) does not load gRPC.
import type { ServiceError, status } from "@grpc/grpc-js";
import { GRPC_CODE } from "./grpc-codes.js";
import { grpcMessage } from "./grpc-message.js";

/** A failed call to an agent; `unreachable` when the agent could not be reached or did not answer in time. */
export class AgentCallError extends Error {
  readonly code: status;
  readonly unreachable: boolean;
  constructor(
    readonly address: string,
    readonly rpc: string,
    cause: ServiceError,
  ) {
    const unreachable = cause.code === GRPC_CODE.UNAVAILABLE || cause.code === GRPC_CODE.DEADLINE_EXCEEDED;
    super(`${rpc} on ${address}: ${unreachable ? "unreachable: " : ""}${grpcMessage(cause)}`, { cause });
    this.name = "AgentCallError";
    this.code = cause.code;
    this.unreachable = unreachable;
  }
}

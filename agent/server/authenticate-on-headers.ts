// Authentication as soon as a call's headers arrive, before grpc-js reads a byte of its message:
// an unauthenticated peer must not make the agent buffer request bodies (up to
// limits.max_message_bytes per stream) that it would only refuse once decoded.
import { ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { toServiceError } from "../../common/grpc-status.js";
import type { Logger } from "../../common/logger.js";
import type { Authenticate } from "./authenticator.js";

const AGENT_SERVICE = "/fleet.agent.v1.AgentService/";

export function authenticateOnHeaders(authenticate: () => Authenticate, logger: Logger, onRefused: (rpc: string, err: unknown) => void): ServerInterceptor {
  return (method, call) => {
    // Only the agent's own service: grpc.health.v1 answers anyone, as load balancers expect.
    if (!method.path.startsWith(AGENT_SERVICE)) return new ServerInterceptingCall(call);
    const rpc = method.path.slice(AGENT_SERVICE.length);
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, pass) {
            try {
              authenticate()({ metadata, auth: call.getAuthContext(), peer: call.getPeer() }, rpc);
            } catch (err) {
              onRefused(rpc, err);
              const e = toServiceError(err, logger, { rpc, peer: call.getPeer() });
              call.sendStatus({ code: e.code!, details: e.details ?? "", metadata: e.metadata });
              return;
            }
            pass(metadata);
          },
        });
      },
    });
  };
}

// The CLI's connection to the controller: resolves the address, gives every
// call a deadline, and turns transport failures into ControllerCallError.
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { credentials, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { parse } from "yaml";
import { ControllerServiceClient, type RolloutEvent } from "../proto/gen/fleet/controller/v1/controller.js";
import { caller } from "./caller.js";
import { ControllerCallError } from "./controller-call-error.js";
import { UsageError } from "./exit-codes.js";

export { caller, ControllerCallError };

export const DEFAULT_CONTROLLER = "unix:/run/fleet/controller.sock";

/**
 * --controller, then FLEET_CONTROLLER, then /etc/fleet/fleet.yaml (its listen;
 * for a command that only reads, its read_socket when this user cannot open
 * the listen socket), then the default socket.
 */
export function resolveControllerAddress(flag: string | undefined, role: "read" | "operate" = "operate"): string {
  if (flag) return flag;
  if (process.env.FLEET_CONTROLLER) return process.env.FLEET_CONTROLLER;
  const file = "/etc/fleet/fleet.yaml";
  if (existsSync(file)) {
    try {
      const c = (parse(readFileSync(file, "utf8")) as { controller?: { listen?: unknown; read_socket?: unknown } })?.controller;
      const listen = typeof c?.listen === "string" ? c.listen : DEFAULT_CONTROLLER;
      if (role === "read" && typeof c?.read_socket === "string" && listen.startsWith("unix:") && !canOpen(listen.slice(5))) return c.read_socket;
      return listen;
    } catch {
      // fall through to the default
    }
  }
  return DEFAULT_CONTROLLER;
}

/** The unix socket refused this user: say who may connect, from /etc/fleet/fleet.yaml when it is readable. */
export function socketPermissionHint(socket: string, config = readControllerConfig()): string {
  const head = `cannot connect to the controller socket ${socket}: permission denied for user ${os.userInfo().username}`;
  if (!config) return `${head}; controller.socket_group in /etc/fleet/fleet.yaml names the group that may connect (without it, root only), controller.read_group the group of the read-only controller.read_socket`;
  if (config.read_socket === `unix:${socket}`) return `${head}; members of group ${config.read_group ?? "(controller.read_group, not set)"} may connect to this read-only socket (controller.read_group)`;
  const read = typeof config.read_socket === "string" ? `; for status, history and show, members of group ${config.read_group ?? "?"} may use ${config.read_socket} (controller.read_socket)` : "";
  const group = typeof config.socket_group === "string" ? `members of group ${config.socket_group} may connect (controller.socket_group)` : "only root may connect (controller.socket_group is not set)";
  return `${head}; ${group}${read}`;
}

function readControllerConfig(): { socket_group?: unknown; read_socket?: unknown; read_group?: unknown } | undefined {
  try {
    return (parse(readFileSync("/etc/fleet/fleet.yaml", "utf8")) as { controller?: object })?.controller ?? {};
  } catch {
    return undefined;
  }
}

function canOpen(socket: string): boolean {
  try {
    accessSync(socket, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A TCP controller always requires TLS: the operator's certificate from FLEET_TLS_CA/CERT/KEY. */
function operatorCredentials() {
  const { FLEET_TLS_CA: ca, FLEET_TLS_CERT: cert, FLEET_TLS_KEY: key } = process.env;
  if (!ca || !cert || !key) throw new UsageError("a TCP controller address needs an operator certificate: set FLEET_TLS_CA, FLEET_TLS_CERT and FLEET_TLS_KEY (fleet certs issue --operator NAME)");
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`cannot read ${name} ${file}: ${(err as Error).message}`);
    }
  };
  return credentials.createSsl(read("FLEET_TLS_CA", ca), read("FLEET_TLS_KEY", key), read("FLEET_TLS_CERT", cert));
}

/** FLEET_TLS_SERVER_NAME: the name in the controller's certificate, when it is not the address dialled. */
function serverNameOverride(): Record<string, string> {
  const name = process.env.FLEET_TLS_SERVER_NAME;
  return name ? { "grpc.ssl_target_name_override": name } : {};
}

export class ControllerClient {
  private readonly client: InstanceType<typeof ControllerServiceClient>;

  constructor(
    readonly address: string,
    private readonly deadlineMs = 10_000,
  ) {
    this.client = address.startsWith("unix:") ? new ControllerServiceClient(address, credentials.createInsecure()) : new ControllerServiceClient(address, operatorCredentials(), serverNameOverride());
  }

  unary<Req, Res>(rpc: "abort" | "promote" | "history" | "show" | "groupStatus" | "listSchedules" | "scheduleAction" | "controllerStatus", request: Req, deadlineMs = this.deadlineMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      const method = this.client[rpc] as unknown as (r: Req, o: object, cb: (err: ServiceError | null, res: Res) => void) => void;
      method.call(this.client, request, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(new ControllerCallError(this.address, rpc, err, socketPermissionHint)) : resolve(res)));
    });
  }

  /** A stream of rollout events; the deadline bounds how long this CLI follows it. */
  async *stream<Req>(rpc: "reload" | "rollout" | "resume" | "watch", request: Req, followMs: number, signal?: AbortSignal): AsyncGenerator<RolloutEvent> {
    const method = this.client[rpc] as unknown as (r: Req, o: object) => ClientReadableStream<RolloutEvent>;
    const call = method.call(this.client, request, { deadline: Date.now() + followMs });
    const onAbort = () => call.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const event of call) yield event as RolloutEvent;
    } catch (err) {
      const e = err as ServiceError;
      if (e.code === status.CANCELLED && signal?.aborted) return;
      throw new ControllerCallError(this.address, rpc, e, socketPermissionHint);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  close(): void {
    this.client.close();
  }
}

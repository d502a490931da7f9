// The CLI's connection to the controller: resolves the address, gives every
// call a deadline, and turns transport failures into ControllerCallError.
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { credentials, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { parse } from "yaml";
import { ControllerServiceClient, type RolloutEvent } from "../proto/gen/fleet/controller/v1/controller.js";

export const DEFAULT_CONTROLLER = "unix:/run/fleet/controller.sock";

export class ControllerCallError extends Error {
  readonly code: status;
  readonly unreachable: boolean;
  constructor(address: string, rpc: string, cause: ServiceError) {
    const unreachable = cause.code === status.UNAVAILABLE || cause.code === status.DEADLINE_EXCEEDED;
    super(`${unreachable ? `controller ${address} unreachable: ` : ""}${cause.details || cause.message}`, { cause });
    this.name = "ControllerCallError";
    this.code = cause.code;
    this.unreachable = unreachable;
  }
}

/** --controller, then FLEET_CONTROLLER, then the listen address in /etc/fleet/fleet.yaml, then the default socket. */
export function resolveControllerAddress(flag: string | undefined): string {
  if (flag) return flag;
  if (process.env.FLEET_CONTROLLER) return process.env.FLEET_CONTROLLER;
  const file = "/etc/fleet/fleet.yaml";
  if (existsSync(file)) {
    try {
      const listen = (parse(readFileSync(file, "utf8")) as { controller?: { listen?: unknown } })?.controller?.listen;
      if (typeof listen === "string") return listen;
    } catch {
      // fall through to the default
    }
  }
  return DEFAULT_CONTROLLER;
}

export function caller() {
  return { user: os.userInfo().username, host: os.hostname() };
}

export class ControllerClient {
  private readonly client: InstanceType<typeof ControllerServiceClient>;

  constructor(
    readonly address: string,
    private readonly deadlineMs = 10_000,
  ) {
    // A remote controller (TCP) with TLS: the operator's certificate from FLEET_TLS_CA/CERT/KEY.
    const { FLEET_TLS_CA: ca, FLEET_TLS_CERT: cert, FLEET_TLS_KEY: key } = process.env;
    const creds = !address.startsWith("unix:") && ca && cert && key ? credentials.createSsl(readFileSync(ca), readFileSync(key), readFileSync(cert)) : credentials.createInsecure();
    this.client = new ControllerServiceClient(address, creds);
  }

  unary<Req, Res>(rpc: "abort" | "history" | "show" | "groupStatus" | "listSchedules" | "scheduleAction", request: Req, deadlineMs = this.deadlineMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      const method = this.client[rpc] as unknown as (r: Req, o: object, cb: (err: ServiceError | null, res: Res) => void) => void;
      method.call(this.client, request, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(new ControllerCallError(this.address, rpc, err)) : resolve(res)));
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
      throw new ControllerCallError(this.address, rpc, e);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  close(): void {
    this.client.close();
  }
}

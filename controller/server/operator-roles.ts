// Which role each controller RPC needs, and what a caller was granted by the
// way it connected. Pure: the transports decide the grant, this decides.
import { permissionDenied } from "../../common/errors.js";
import type { ControllerSettings, Role } from "../inventory/inventory.js";

export type ControllerRpc = "Reload" | "Rollout" | "Resume" | "Abort" | "Promote" | "ScheduleAction" | "Watch" | "History" | "Show" | "GroupStatus" | "ListSchedules" | "ControllerStatus";

/** `read` looks; `operate` changes something on the fleet or in the controller. */
export const RPC_ROLE: Record<ControllerRpc, Role> = {
  Reload: "operate",
  Rollout: "operate",
  Resume: "operate",
  Abort: "operate",
  Promote: "operate",
  ScheduleAction: "operate",
  Watch: "read",
  History: "read",
  Show: "read",
  GroupStatus: "read",
  ListSchedules: "read",
  ControllerStatus: "read",
};

/** The controller's HTTP listeners with TLS (metrics, web view) admit certificates by role too. */
export type ControllerHttpListener = "metrics" | "web";

/** Both only look. */
export const HTTP_ROLE: Record<ControllerHttpListener, Role> = { metrics: "read", web: "read" };

const HTTP_NAME: Record<ControllerHttpListener, string> = { metrics: "the metrics endpoint (metrics.tls)", web: "the web view (web.tls)" };

/** What one caller may do, who it is, and where that grant comes from (for the refusal). */
export interface Grant {
  roles: Role[];
  /** The authenticated name (a certificate's CN), when the transport has one. */
  identity?: string;
  who: string;
  source: string;
}

/** The unix sockets: the kernel already checked the caller may open the file. */
export function socketGrant(settings: ControllerSettings, socket: "listen" | "read_socket"): Grant {
  if (socket === "read_socket") {
    return { roles: ["read"], who: "a caller on controller.read_socket", source: `controller.read_socket grants read only; operate needs controller.listen${settings.socketGroup ? ` (group ${settings.socketGroup})` : " (root)"}` };
  }
  return { roles: ["read", "operate"], who: "a caller on controller.listen", source: "the socket's owner and group" };
}

/** TCP with mutual TLS: the client certificate's name, looked up in controller.operators. */
export function certificateGrant(settings: ControllerSettings, name: string | undefined): Grant {
  if (!name) return { roles: [], who: "a caller without a client certificate name", source: "controller.operators" };
  const roles: Role[] = settings.operators.operate.includes(name) ? ["read", "operate"] : settings.operators.read.includes(name) ? ["read"] : [];
  return { roles, identity: name, who: `certificate ${name}`, source: `controller.operators: read [${settings.operators.read.join(", ")}], operate [${settings.operators.operate.join(", ")}]` };
}

/** Throws PERMISSION_DENIED naming the role the call needed. */
export function authorize(rpc: ControllerRpc, grant: Grant): void {
  const why = refusal(rpc, RPC_ROLE[rpc], grant);
  if (why) throw permissionDenied(why);
}

/** Why `grant` may not read from an HTTP listener (the 403's text), or undefined when it may. */
export function httpRefusal(listener: ControllerHttpListener, grant: Grant): string | undefined {
  return refusal(HTTP_NAME[listener], HTTP_ROLE[listener], grant);
}

function refusal(what: string, needed: Role, grant: Grant): string | undefined {
  if (grant.roles.includes(needed)) return undefined;
  return `${what} needs the ${needed} role; ${grant.who} has ${grant.roles.length ? `only ${grant.roles.join(", ")}` : "no role"} (${grant.source})`;
}

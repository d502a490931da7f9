// Authenticates every call: mutual TLS is enforced by the transport itself;
// a bearer token is compared in constant time (digests, computed when the
// config was read); insecure accepts all. Building one never fails.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Metadata } from "@grpc/grpc-js";
import type { AuthContext } from "@grpc/grpc-js/build/src/auth-context.js";
import { permissionDenied, unauthenticated } from "../../common/errors.js";
import type { AgentAuth } from "../config/agent-config.js";

/** Returns the caller's identity, or throws unauthenticated / permission_denied. */
export type Authenticate = (call: { metadata: Metadata; auth: AuthContext; peer: string }, rpc: string) => string;

const digest = (s: string) => createHash("sha256").update(s).digest();

export function createAuthenticator(auth: AgentAuth): Authenticate {
  switch (auth.mode) {
    case "insecure":
      return () => "anonymous (insecure: true)";
    case "token": {
      const expected = auth.tokenDigest;
      return ({ metadata }) => {
        const header = metadata.get("authorization")[0];
        const m = typeof header === "string" ? /^Bearer (.+)$/.exec(header) : null;
        if (!m) throw unauthenticated("missing bearer token (authorization: Bearer ...)");
        if (!timingSafeEqual(digest(m[1]!), expected)) throw unauthenticated("wrong bearer token");
        return "token";
      };
    }
    case "tls":
      // The TLS handshake already required a client certificate signed by the fleet CA.
      return ({ auth: ctx }, rpc) => {
        const cn = ctx.sslPeerCertificate?.subject?.CN;
        const name = Array.isArray(cn) ? cn[0] : cn;
        if (!name) throw unauthenticated("no client certificate");
        const refused = allowRefusal(auth.allow, rpc, name);
        if (refused) throw permissionDenied(refused);
        return `cert:${name}`;
      };
  }
}

/**
 * Why the client certificate `name` may not call `rpc` (or read Metrics) under
 * tls.allow, or undefined when it may. Without a list, any certificate from the CA may.
 */
export function allowRefusal(allow: Record<string, string[]> | undefined, rpc: string, name: string): string | undefined {
  const rule = allowRule(allow, rpc);
  if (!rule || rule.names.includes("*") || rule.names.includes(name)) return undefined;
  return `client ${name} may not ${rpc === "Metrics" ? "read Metrics" : `call ${rpc}`} (${rule.from}: ${rule.names.join(", ")})`;
}

/**
 * DiffConfig reads what PushConfig would change: unless it has its own list, PushConfig's applies.
 * Fence moves the epoch that every mutating call is judged by: unless it has its own list, only a
 * client that may call Reload, PushConfig or RollbackConfig may fence (a read-only certificate
 * must not be able to lock the controller out).
 */
function allowRule(allow: Record<string, string[]> | undefined, rpc: string): { names: string[]; from: string } | undefined {
  if (allow?.[rpc]) return { names: allow[rpc], from: `tls.allow.${rpc}` };
  if (rpc === "DiffConfig" && allow?.PushConfig) return { names: allow.PushConfig, from: "tls.allow.PushConfig, which DiffConfig follows" };
  if (rpc === "Fence") {
    const lists = (["Reload", "PushConfig", "RollbackConfig"] as const).filter((r) => allow?.[r]);
    if (lists.length) return { names: [...new Set(lists.flatMap((r) => allow![r]!))], from: `tls.allow.${lists.join("/")}, which Fence follows` };
  }
  return undefined;
}

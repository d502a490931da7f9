// Authenticates every call: mutual TLS is enforced by the transport itself;
// a bearer token is compared in constant time; insecure accepts all.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Metadata } from "@grpc/grpc-js";
import { unauthenticated } from "../../common/errors.js";
import type { AgentAuth } from "../config/agent-config.js";

export type Authenticate = (metadata: Metadata) => void;

const digest = (s: string) => createHash("sha256").update(s).digest();

export function readToken(file: string): string {
  const token = readFileSync(file, "utf8").trim();
  if (token.length < 16) throw new Error(`token file ${file} holds ${token.length} characters; use at least 16 (e.g. openssl rand -hex 32)`);
  return token;
}

export function createAuthenticator(auth: AgentAuth): Authenticate {
  if (auth.mode !== "token") return () => undefined;
  const expected = digest(readToken(auth.tokenFile));
  return (metadata) => {
    const header = metadata.get("authorization")[0];
    const m = typeof header === "string" ? /^Bearer (.+)$/.exec(header) : null;
    if (!m) throw unauthenticated("missing bearer token (authorization: Bearer ...)");
    if (!timingSafeEqual(digest(m[1]!), expected)) throw unauthenticated("wrong bearer token");
  };
}

// The opt-in HTTP listeners (metrics, web view): plain HTTP without
// authentication binds only to loopback (anyone who can reach it already has
// a shell on the machine); with TLS and client certificates any address will do.
import { BlockList, isIP } from "node:net";
import type { Path, Problems } from "./field-checks.js";
import { string } from "./field-checks.js";

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/**
 * An IP literal on loopback (127.0.0.0/8, ::1, brackets allowed), or the name
 * localhost (which the listener resolves and checks again when it binds).
 * Anything else that merely looks like one (127.999.0.1, 127.1) is a name the
 * resolver would look up, so it is not loopback.
 */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || isLoopbackIp(host.replace(/^\[(.*)\]$/, "$1"));
}

export function isLoopbackIp(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? "ipv4" : "ipv6");
}

/** HOST:PORT -> host (without brackets) and port. */
export function splitHostPort(listen: string): { host: string; port: number } {
  const m = HOST_PORT.exec(listen);
  if (!m) throw new Error(`not HOST:PORT: ${listen}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

/**
 * A config field holding HOST:PORT (port 0 = any free port): on loopback unless
 * the listener serves TLS with client certificates (`tls`); `howToTls` tells
 * the reader how to configure that, for the refusal.
 */
export function httpListen(v: unknown, path: Path, p: Problems, tls: boolean, howToTls: string): string | undefined {
  const s = string(v, path, p);
  if (s === undefined) return undefined;
  const m = HOST_PORT.exec(s);
  if (!m || Number(m[2]) > 65535) return p.add(path, `must be HOST:PORT, e.g. 127.0.0.1:9601, got ${JSON.stringify(s)}`);
  if (!tls && !isLoopbackHost(m[1]!)) {
    return p.add(
      path,
      `${s} is not a loopback address: without TLS this listener serves plain HTTP without authentication, so it binds only to 127.0.0.1, [::1] or localhost; to serve it elsewhere, configure tls (${howToTls}) or put a TLS proxy in front`,
    );
  }
  return s;
}

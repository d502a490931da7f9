// One agent, however the inventory spells its address: the key host locks
// and duplicate detection compare, so `WEB1:7601`, `web1.:7601` and
// `web1:07601` are one host, and so are `localhost:P`, `127.0.0.1:P` and
// `[::1]:P`. The inventory's own spelling is still what the controller dials.
//
// Pure: names are not resolved. Two different names for one machine (a short
// name and its FQDN, a CNAME, a name and its IP) are not recognised — list
// each agent under one spelling.
import path from "node:path";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "[::ffff:7f00:1]", "localhost.localdomain", "ip6-localhost", "ip6-loopback"]);

/** The normalized identity of an agent address (HOST:PORT, [V6]:PORT or unix:/PATH). */
export function hostKey(address: string): string {
  if (address.startsWith("unix:")) return `unix:${path.posix.normalize(address.slice(5))}`;
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) return address;
  const port = Number(m[2]);
  let host = m[1]!.toLowerCase().replace(/\.$/, "");
  try {
    // The URL parser's host rules: IPv4 shorthand (127.1) and IPv6 forms ([0:0::1]) in their one canonical spelling.
    host = new URL(`http://${host}/`).hostname;
  } catch {
    // Not a valid host for a URL: compared as written (lowercased).
  }
  if (LOOPBACK.has(host) || host.endsWith(".localhost")) host = "loopback";
  return `${host}:${port}`;
}

// HostFacts for tests of the config compiler: files, users and groups given
// in memory; TLS material is accepted when it says "CERT", "KEY" and "CA".
import type { HostFacts } from "./host-facts.js";

export function fakeHostFacts(files: Record<string, string> = {}, users: Record<string, { uid: number; gid: number }> = { root: { uid: 0, gid: 0 } }, groups: Record<string, number> = { root: 0 }): HostFacts {
  return {
    readSmallFile(path, maxBytes) {
      const text = files[path];
      if (text === undefined) return { ok: false, reason: `cannot be read: ${path} does not exist` };
      if (text === "<dir>") return { ok: false, reason: `${path} is a directory, not a file` };
      if (text.length > maxBytes) return { ok: false, reason: `${path} holds ${text.length} bytes; at most ${maxBytes} are allowed` };
      return { ok: true, bytes: Buffer.from(text) };
    },
    user: (name) => users[name],
    group: (name) => groups[name],
    tlsProblem: ({ cert, key, ca }) => (cert.toString() === "CERT" && key.toString() === "KEY" && ca.toString() === "CA" ? undefined : "tls.cert and tls.key cannot be used together: fake mismatch"),
  };
}

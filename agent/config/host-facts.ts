// What compiling agent.yaml needs to know about this host: the bytes of the
// secret files it names, users, groups, and whether TLS material loads. The
// parser sees only this interface; tests pass a fake.
import { readFileSync } from "node:fs";
import { readSmallFile, type FileRead } from "../../common/read-small-file.js";
import { tlsMaterialProblem, type TlsMaterial } from "../../common/tls-material.js";

export type { FileRead };

export interface HostFacts {
  /** A small regular file's bytes, or why it cannot be used. */
  readSmallFile(path: string, maxBytes: number): FileRead;
  user(name: string): { uid: number; gid: number } | undefined;
  group(name: string): number | undefined;
  /** Why this certificate, key and CA cannot serve mutual TLS, or undefined. */
  tlsProblem(material: { cert: Buffer; key: Buffer; ca: Buffer }): string | undefined;
}

/** The real host, read afresh for every compile (a user added since start is found). */
export function systemHostFacts(): HostFacts {
  let passwd: Map<string, { uid: number; gid: number }> | undefined;
  let groups: Map<string, number> | undefined;
  return {
    readSmallFile,
    user(name) {
      passwd ??= new Map(colonFile("/etc/passwd").map((f) => [f[0]!, { uid: Number(f[2]), gid: Number(f[3]) }]));
      return passwd.get(name);
    },
    group(name) {
      groups ??= new Map(colonFile("/etc/group").map((f) => [f[0]!, Number(f[2])]));
      return groups.get(name);
    },
    tlsProblem,
  };
}

function colonFile(file: string): string[][] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").map((l) => l.split(":")).filter((f) => f.length >= 4 && f[0] && /^\d+$/.test(f[2]!));
}

/** Loads the files as the TLS server will; the problem names which of them is at fault (a cut-short chain is tls.cert's). */
function tlsProblem(material: TlsMaterial): string | undefined {
  const problem = tlsMaterialProblem(material, "tls.cert");
  return problem && `tls.${problem.field} ${problem.message}`;
}

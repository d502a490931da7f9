// What compiling agent.yaml needs to know about this host: the bytes of the
// secret files it names, users, groups, and whether TLS material loads. The
// parser sees only this interface; tests pass a fake.
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { X509Certificate } from "node:crypto";

export type FileRead = { ok: true; bytes: Buffer } | { ok: false; reason: string };

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

/**
 * O_NONBLOCK so a FIFO put in the file's place cannot hang the agent; only a
 * regular file of at most maxBytes is read.
 */
function readSmallFile(path: string, maxBytes: number): FileRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return { ok: false, reason: `cannot be read: ${describeError(err)}` };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { ok: false, reason: `${path} is a directory, not a file` };
    if (!st.isFile()) return { ok: false, reason: `${path} is not a regular file` };
    if (st.size > maxBytes) return { ok: false, reason: `${path} holds ${st.size} bytes; at most ${maxBytes} are allowed` };
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return { ok: true, bytes: buf.subarray(0, got) };
  } catch (err) {
    return { ok: false, reason: `cannot be read: ${describeError(err)}` };
  } finally {
    closeSync(fd);
  }
}

function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "ENOENT") return `${e.path ?? "file"} does not exist`;
  if (e.code === "EACCES") return `permission denied for ${e.path ?? "file"}`;
  return e.message;
}

function tlsProblem({ cert, key, ca }: { cert: Buffer; key: Buffer; ca: Buffer }): string | undefined {
  try {
    new X509Certificate(cert);
  } catch (err) {
    return `tls.cert is not a PEM certificate: ${(err as Error).message}`;
  }
  try {
    new X509Certificate(ca);
  } catch (err) {
    return `tls.ca is not a PEM certificate: ${(err as Error).message}`;
  }
  try {
    // Loads the pair exactly as the TLS server will: a key that does not match the certificate fails here.
    createSecureContext({ cert, key, ca });
  } catch (err) {
    return `tls.cert and tls.key cannot be used together: ${(err as Error).message}`;
  }
  return undefined;
}

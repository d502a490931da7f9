// Reads a small secret or config file that someone else may have replaced:
// opened O_NONBLOCK so a FIFO in its place cannot hang the caller, and read
// only when it is a regular file of at most maxBytes (a device such as
// /dev/zero, a directory or a socket is refused before any byte is read).
// Synchronous: a regular local file of a few KiB is read in microseconds, and
// callers (the agent's config compile, the controller's credential checks)
// need the answer before they go on.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

/** `code`: the errno code when the file could not be opened or read (ENOENT, EACCES, ...). */
export type FileRead = { ok: true; bytes: Buffer } | { ok: false; reason: string; code?: string };

/** A small regular file's bytes, or why it cannot be used (the reason names the path). */
export function readSmallFile(path: string, maxBytes: number): FileRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return failed(err);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { ok: false, reason: `${path} is a directory, not a file` };
    if (!st.isFile()) return { ok: false, reason: `${path} is not a regular file` };
    if (st.size > maxBytes) return { ok: false, reason: `${path} holds ${st.size} bytes; at most ${maxBytes} are allowed` };
    // Sized from fstat, so a file growing while it is read is cut at that size, never read without bound.
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return { ok: true, bytes: buf.subarray(0, got) };
  } catch (err) {
    return failed(err);
  } finally {
    closeSync(fd);
  }
}

function failed(err: unknown): FileRead {
  return { ok: false, reason: `cannot be read: ${describeError(err)}`, code: (err as NodeJS.ErrnoException).code };
}

function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "ENOENT") return `${e.path ?? "file"} does not exist`;
  if (e.code === "EACCES") return `permission denied for ${e.path ?? "file"}`;
  return e.message;
}

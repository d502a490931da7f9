// A unified diff of a live file against proposed content (pure: bytes in,
// text out), computed by the `diff` package in its asynchronous mode so a
// large diff never blocks the agent's event loop, with a bound on the edit
// length and the time spent; binary content is summarized, never diffed.
import { FILE_HEADERS_ONLY, formatPatch, structuredPatch, type StructuredPatch } from "diff";

export interface UnifiedDiff {
  text: string;
  /** Cut at the byte cap, or too large to diff line by line (then counted as a whole-file replacement). */
  truncated: boolean;
  addedLines: number;
  removedLines: number;
  binary: boolean;
}

export const MAX_DIFF_BYTES = 256 * 1024;
/** Beyond this many changed lines (or this long), the change is reported as a replacement of the whole file. */
const MAX_EDIT_LENGTH = 20_000;
const MAX_DIFF_MS = 5000;
const CONTEXT_LINES = 3;

/** `live` undefined: the file does not exist (shown as /dev/null). */
export async function unifiedDiff(file: string, live: Buffer | undefined, proposed: Buffer, limits: { maxBytes?: number; maxEditLength?: number } = {}): Promise<UnifiedDiff> {
  const { maxBytes = MAX_DIFF_BYTES, maxEditLength = MAX_EDIT_LENGTH } = limits;
  const oldName = live ? file : "/dev/null";
  if (live?.equals(proposed)) return { text: "", truncated: false, addedLines: 0, removedLines: 0, binary: false };
  const oldText = live ? text(live) : "";
  const newText = text(proposed);
  if (oldText === undefined || newText === undefined) {
    return { text: `Binary files ${oldName} and ${file} differ\n`, truncated: false, addedLines: 0, removedLines: 0, binary: true };
  }
  const patch = await new Promise<StructuredPatch | undefined>((resolve) =>
    structuredPatch(oldName, file, oldText, newText, live ? "live" : undefined, "proposed", { context: CONTEXT_LINES, maxEditLength, timeout: MAX_DIFF_MS, callback: resolve }),
  );
  if (!patch) {
    const [removedLines, addedLines] = [lineCount(oldText), lineCount(newText)];
    return { text: `--- ${oldName}\n+++ ${file}\n(more than ${maxEditLength} changed lines, or more than ${MAX_DIFF_MS} ms to diff: not diffed line by line; counted as ${removedLines} lines replaced by ${addedLines})\n`, truncated: true, addedLines, removedLines, binary: false };
  }
  const lines = patch.hunks.flatMap((h) => h.lines);
  const full = formatPatch(patch, FILE_HEADERS_ONLY);
  const cut = capAtLine(full, maxBytes);
  return { text: cut, truncated: cut.length !== full.length, addedLines: lines.filter((l) => l.startsWith("+")).length, removedLines: lines.filter((l) => l.startsWith("-")).length, binary: false };
}

/** The content as text, or undefined when it is binary (a NUL byte, or not UTF-8). */
function text(b: Buffer): string | undefined {
  if (b.subarray(0, 8000).includes(0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    return undefined;
  }
}

const lineCount = (s: string) => (s === "" ? 0 : s.split("\n").length - (s.endsWith("\n") ? 1 : 0));

/** The longest prefix of whole lines within `maxBytes` UTF-8 bytes. */
function capAtLine(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  const head = Buffer.from(s).subarray(0, maxBytes).toString("utf8");
  const end = head.lastIndexOf("\n");
  return end < 0 ? "" : head.slice(0, end + 1);
}

// Small pure helpers for config parsers that collect every problem at once
// instead of stopping at the first.
import type { ConfigProblem } from "./errors.js";
import { DURATION_EXAMPLES, formatDuration, parseDuration } from "./duration.js";

export type Path = (string | number)[];

export class Problems {
  readonly list: ConfigProblem[] = [];
  add(path: Path, message: string): undefined {
    this.list.push({ path, message });
    return undefined;
  }
}

const typeName = (v: unknown) => (v === undefined ? "nothing" : v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "a mapping" : `${typeof v} ${JSON.stringify(v)}`);

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function record(v: unknown, path: Path, p: Problems): Record<string, unknown> | undefined {
  if (isRecord(v)) return v;
  return p.add(path, `must be a mapping, got ${typeName(v)}`);
}

export function noUnknownKeys(obj: Record<string, unknown>, allowed: readonly string[], path: Path, p: Problems): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) p.add([...path, key], `unknown field; allowed: ${allowed.join(", ")}`);
  }
}

export function string(v: unknown, path: Path, p: Problems): string | undefined {
  if (typeof v === "string" && v.length > 0) return v;
  return p.add(path, `must be a non-empty string, got ${typeName(v)}`);
}

export function bool(v: unknown, path: Path, p: Problems): boolean | undefined {
  if (typeof v === "boolean") return v;
  return p.add(path, `must be true or false, got ${typeName(v)}`);
}

export function int(v: unknown, path: Path, p: Problems, min: number, max: number): number | undefined {
  if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
  return p.add(path, `must be an integer from ${min} to ${max}, got ${typeName(v)}`);
}

export function duration(v: unknown, path: Path, p: Problems, maxMs = 24 * 3_600_000): number | undefined {
  if (typeof v !== "string" && typeof v !== "number") return p.add(path, `must be a duration like ${DURATION_EXAMPLES}, got ${typeName(v)}`);
  const d = parseDuration(v);
  if (!d.ok) return p.add(path, d.problem);
  if (d.ms > maxMs) return p.add(path, `must be at most ${formatDuration(maxMs)}, got ${JSON.stringify(v)}`);
  return d.ms;
}

export function oneOf<T extends string>(v: unknown, allowed: readonly T[], path: Path, p: Problems): T | undefined {
  if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
  return p.add(path, `must be one of ${allowed.join(", ")}, got ${typeName(v)}`);
}

export function argv(v: unknown, path: Path, p: Problems): string[] | undefined {
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string" && x.length > 0)) {
    if (!(v[0] as string).startsWith("/")) return p.add([...path, 0], `must be an absolute program path (no shell, no PATH lookup), got ${JSON.stringify(v[0])}`);
    return v as string[];
  }
  return p.add(path, `must be a non-empty list of strings (an argv; no shell), got ${typeName(v)}`);
}

export function regex(v: unknown, path: Path, p: Problems): RegExp | undefined {
  const s = string(v, path, p);
  if (s === undefined) return undefined;
  try {
    return new RegExp(s);
  } catch (err) {
    return p.add(path, `is not a valid regular expression: ${(err as Error).message}`);
  }
}

export function absolutePath(v: unknown, path: Path, p: Problems): string | undefined {
  const s = string(v, path, p);
  if (s === undefined) return undefined;
  if (!s.startsWith("/")) return p.add(path, `must be an absolute path, got ${JSON.stringify(s)}`);
  return s;
}

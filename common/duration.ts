// One duration grammar for the CLI, the inventory and the agent config: every value carries a
// unit (ms, s, m, h, d) and may be compound with units in decreasing order (1h30m, 2m30s, 1.5s).
// A bare number other than 0 is refused with a suggestion: `bake: 30` meaning 30 ms is the classic mistake.
// Written here rather than taken from a library: the ones on npm read a bare number as ms and
// accept ambiguous forms such as "1h30", which is exactly what this grammar exists to refuse.
const UNITS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof UNITS;
const ORDER: Unit[] = ["d", "h", "m", "s", "ms"];
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

export type ParsedDuration = { ok: true; ms: number } | { ok: false; problem: string };

export const DURATION_EXAMPLES = "500ms, 30s, 2m or 1h30m";

export function parseDuration(value: string | number): ParsedDuration {
  const text = String(value).trim();
  if (/^0+(\.0+)?$/.test(text)) return { ok: true, ms: 0 }; // zero is zero in every unit
  if (/^\d+(\.\d+)?$/.test(text)) {
    return { ok: false, problem: `${text} has no unit: did you mean ${text}s? (a duration needs a unit: ms, s, m, h or d, e.g. ${DURATION_EXAMPLES})` };
  }
  const bad = { ok: false as const, problem: `must be a duration like ${DURATION_EXAMPLES}, got ${JSON.stringify(value)}` };
  if (!text) return bad;
  let ms = 0;
  let last = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (!m) return bad;
    const rank = ORDER.indexOf(m[2] as Unit);
    if (rank <= last) return { ok: false, problem: `units must go from largest to smallest, each once (like 1h30m), got ${JSON.stringify(value)}` };
    last = rank;
    ms += Number(m[1]) * UNITS[m[2] as Unit];
  }
  return { ok: true, ms: Math.round(ms) };
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const s = Math.round((ms % 60_000) / 1000);
  const m = Math.floor(ms / 60_000);
  const text = m >= 60 ? `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ""}` : `${m}m`;
  return s ? `${text}${s}s` : text;
}

// Reads what a unit wrote to the systemd journal after a point in time:
// a cursor taken before the reload, `journalctl -u UNIT --after-cursor` after.
import type { CommandRunner } from "../process/command-runner.js";

const JOURNALCTL = "/usr/bin/journalctl";
/** Entries read per poll; a unit that logs more than this between polls has its oldest new lines skipped. */
const MAX_ENTRIES = 2000;

export interface JournalEntry {
  cursor: string;
  /** When the process logged it (journald's receive time when the source time is missing), µs since the epoch. */
  atUs: number;
  /** The unit whose process wrote the line (systemd's own lines about the unit carry init.scope). */
  unit: string;
  message: string;
}

export interface JournalReader {
  /** The newest cursor of the whole journal, "" when it is empty. */
  head(): Promise<string>;
  /** The unit's entries after `cursor` (all of them when ""), oldest first. */
  after(unit: string, cursor: string): Promise<JournalEntry[]>;
}

/** Parses `journalctl -o json` output: one JSON object per line. */
export function parseJournalJson(text: string): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    // MESSAGE is an array of bytes when it is not valid UTF-8.
    const m = e.MESSAGE;
    const message = typeof m === "string" ? m : Array.isArray(m) ? Buffer.from(m as number[]).toString("utf8") : "";
    const at = Number(e._SOURCE_REALTIME_TIMESTAMP ?? e.__REALTIME_TIMESTAMP);
    out.push({ cursor: String(e.__CURSOR ?? ""), atUs: Number.isFinite(at) ? at : 0, unit: String(e._SYSTEMD_UNIT ?? ""), message });
  }
  return out;
}

export function journalctlReader(runner: CommandRunner, timeoutMs = 5000): JournalReader {
  const run = async (args: string[]) => {
    const r = await runner.run([JOURNALCTL, "--no-pager", "-q", "-o", "json", ...args], { timeoutMs });
    if (r.timedOut) throw new Error(`journalctl did not answer within ${timeoutMs}ms`);
    if (r.exitCode !== 0) throw new Error(`journalctl failed (exit ${r.exitCode}): ${r.output.slice(0, 300)}`);
    return parseJournalJson(r.output);
  };
  return {
    head: async () => (await run(["-n", "1"])).at(-1)?.cursor ?? "",
    after: (unit, cursor) => run(["-u", unit, "-n", String(MAX_ENTRIES), ...(cursor ? ["--after-cursor", cursor] : [])]),
  };
}

/** New lines of one unit's own processes, counted only when written at or after `since`. */
export class JournalTail {
  private cursor = "";
  private sinceUs = 0;

  constructor(
    private readonly reader: JournalReader,
    readonly unit: string,
  ) {}

  /** Call right before the reload is sent: only lines logged from then on count. */
  async begin(): Promise<void> {
    this.cursor = await this.reader.head();
    this.sinceUs = Date.now() * 1000;
  }

  async findNew(pattern: RegExp): Promise<string | undefined> {
    const entries = await this.reader.after(this.unit, this.cursor);
    if (entries.length) this.cursor = entries.at(-1)!.cursor || this.cursor;
    return entries.find((e) => e.unit === this.unit && e.atUs >= this.sinceUs && pattern.test(e.message))?.message;
  }
}

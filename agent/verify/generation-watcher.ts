// Watches for evidence that a new generation of the service took over after a
// reload: new worker PIDs, a changed value at a declared HTTP endpoint, or a
// declared marker line in a log file or the unit's journal.
import type { GenerationSpec } from "../config/agent-config.js";
import type { ProcessInspector } from "../process/process-inspector.js";
import { JournalTail, type JournalReader } from "./journal-tail.js";
import { LogTail } from "./log-tail.js";

export type GenerationSource = "workers" | "http" | "log" | "journal" | "none";

export interface GenerationWatcher {
  readonly source: GenerationSource;
  readonly before: string;
  readonly after: string;
  readonly note: string;
  /** What a complete new generation needs, for a timeout's reason. */
  readonly awaited: string;
  /** What was seen short of a complete new generation; "" when nothing changed. */
  readonly progress: string;
  /** Call right before the reload is sent: log sources count only lines from then on. */
  begin(): Promise<void>;
  /** True once a new generation has been seen. */
  poll(): Promise<boolean>;
  /** How often poll() may be called: a few ms for /proc reads, longer where a poll costs the service a request or a subprocess. */
  readonly pollEveryMs: number;
}

/** Polling cadences: /proc entries and a log file are cheap to read; an HTTP request or a journalctl run is not. */
export const POLL_MS = { proc: 2, log: 5, costly: 20 } as const;

export interface WatcherDeps {
  inspector: ProcessInspector;
  journal: JournalReader;
}

export interface Baseline {
  mainPid: number | undefined;
  workersBefore: number[];
  /** The main process's listening sockets at baseline, which old workers share until they stop accepting. */
  listenBefore: number[];
}

export async function startGenerationWatcher(spec: GenerationSpec, base: Baseline, deps: WatcherDeps): Promise<GenerationWatcher> {
  const kind = spec.kind === "auto" ? (base.mainPid !== undefined && base.workersBefore.length > 0 ? "workers" : "none") : spec.kind;
  switch (kind) {
    case "workers":
      if (base.mainPid === undefined) return none("generation: workers needs a main process to watch; none is known for this reload method");
      return workersWatcher(base.mainPid, base, deps.inspector);
    case "http":
      return httpWatcher(spec as Extract<GenerationSpec, { kind: "http" }>);
    case "log": {
      const s = spec as Extract<GenerationSpec, { kind: "log" }>;
      return lineWatcher("log", new LogTail(s.path), s.marker, `${s.path} from the signal on`, `a line matching /${s.marker.source}/ in ${s.path}`);
    }
    case "journal": {
      const s = spec as Extract<GenerationSpec, { kind: "journal" }>;
      return lineWatcher("journal", new JournalTail(deps.journal, s.unit), s.marker, `the journal of ${s.unit} from the signal on`, `a journal line of ${s.unit} matching /${s.marker.source}/`);
    }
    default:
      return none(
        spec.kind === "none"
          ? "no generation evidence declared (generation: none): nothing can show that the service loaded the new config"
          : "no generation evidence available (the main process has no workers, and no http, log or journal generation is declared): nothing can show that the service loaded the new config",
      );
  }
}

/** What a reload of a service can prove, for Status: `workers` is the main process's worker count now (undefined: no main process). */
export function evidenceCapability(spec: GenerationSpec, workers: number | undefined): string {
  const unverified = "none: reloads are unverified";
  switch (spec.kind) {
    case "auto":
      return workers ? `workers (${workers} now)` : `${unverified} (no workers, no generation declared)`;
    case "workers":
      return workers === undefined ? `workers (no main process found)` : `workers (${workers} now)`;
    case "http":
      return `http ${spec.url}${spec.json ? ` field ${spec.json}` : ""}`;
    case "log":
      return `log ${spec.path} /${spec.marker.source}/`;
    case "journal":
      return `journal of ${spec.unit} /${spec.marker.source}/`;
    case "none":
      return `${unverified} (generation: none)`;
  }
}

/**
 * New workers under the same main process, and the old ones no longer
 * listening on the baseline's sockets. Until a new child appears, a poll reads
 * only the kernel's children list; then only the old workers' fd links.
 */
function workersWatcher(mainPid: number, base: Baseline, inspector: ProcessInspector): GenerationWatcher {
  const before = new Set(base.workersBefore);
  const listeners = new Set(base.listenBefore);
  let after = base.workersBefore;
  let fresh: number[] = [];
  let old: number[] = [];
  let progress = "";
  let observed = false;
  let pollEveryMs: number = POLL_MS.proc;
  /** Reads the live children; true when new ones are among them. */
  const readChildren = async () => {
    after = await inspector.children(mainPid);
    fresh = after.filter((pid) => !before.has(pid));
    old = after.filter((pid) => before.has(pid));
    return fresh.length > 0;
  };
  /** Per old worker, the fd where it held a listener at the last poll: while it still does, a poll reads that one link. */
  const listenerFd = new Map<number, number>();
  const stillListening = async () => {
    const listening = await Promise.all(
      old.map(async (pid) => {
        const fd = await inspector.holdsAnySocket(pid, listeners, listenerFd.get(pid));
        if (fd === undefined) listenerFd.delete(pid);
        else listenerFd.set(pid, fd);
        return fd === undefined ? undefined : pid;
      }),
    );
    return listening.filter((pid): pid is number => pid !== undefined);
  };
  return {
    source: "workers",
    before: base.workersBefore.join(","),
    get after() {
      return after.join(",");
    },
    get progress() {
      return progress;
    },
    get pollEveryMs() {
      return pollEveryMs;
    },
    awaited: "the old workers to stop listening",
    note: "new worker processes appeared under the same main process and the old ones stopped listening",
    begin: async () => undefined,
    async poll() {
      if (observed) return true;
      if (fresh.length === 0) {
        const raw = await inspector.childPids(mainPid);
        // Without the kernel's children lists every poll scans /proc: poll less often.
        if (raw === undefined) pollEveryMs = POLL_MS.costly;
        if (raw !== undefined && !raw.some((pid) => !before.has(pid))) return false;
        if (!(await readChildren())) return false;
      }
      // Old workers drain their connections but must no longer accept new ones.
      const still = await stillListening();
      if (still.length) {
        progress = `new workers ${fresh.join(",")} are up; old workers ${still.join(",")} still listen`;
        return false;
      }
      // The new workers must still be there when the old ones are done (a crashed generation is not one).
      const seen = fresh;
      observed = await readChildren();
      progress = observed ? `new workers ${fresh.join(",")} are up and the old ones stopped listening` : `new workers ${seen.join(",")} appeared but exited before the old ones stopped listening`;
      return observed;
    },
  };
}

async function httpWatcher(s: Extract<GenerationSpec, { kind: "http" }>): Promise<GenerationWatcher> {
  const read = () => fetchGeneration(s.url, s.json);
  const first = await read();
  const before = "value" in first ? first.value : `(unavailable: ${first.error})`;
  let after = before;
  let observed = false;
  return {
    source: "http",
    before,
    get after() {
      return after;
    },
    get progress() {
      return observed ? `the value changed from ${before} to ${after}` : "";
    },
    pollEveryMs: POLL_MS.costly,
    awaited: `the value of ${s.json ? `"${s.json}" at ` : ""}${s.url} to change`,
    note: `value of ${s.json ? `"${s.json}" at ` : ""}${s.url} changed`,
    begin: async () => undefined,
    async poll() {
      const r = await read();
      if ("value" in r) {
        after = r.value;
        observed ||= r.value !== before;
      }
      return observed;
    },
  };
}

function lineWatcher(source: "log" | "journal", tail: { begin(): Promise<void>; findNew(p: RegExp): Promise<string | undefined> }, marker: RegExp, before: string, what: string): GenerationWatcher {
  let after = "";
  return {
    source,
    before,
    get after() {
      return after;
    },
    get progress() {
      return after ? `the line appeared: ${after.trim()}` : "";
    },
    // A log file is a stat and a read; the journal is a journalctl run.
    pollEveryMs: source === "log" ? POLL_MS.log : POLL_MS.costly,
    awaited: what,
    note: `${what} was written after the signal`,
    begin: () => tail.begin(),
    async poll() {
      if (!after) after = (await tail.findNew(marker)) ?? "";
      return after !== "";
    },
  };
}

function none(note: string): GenerationWatcher {
  return { source: "none", before: "", after: "", note, awaited: "", progress: "", pollEveryMs: POLL_MS.costly, begin: async () => undefined, poll: async () => false };
}

async function fetchGeneration(url: string, jsonField: string | undefined): Promise<{ value: string } | { error: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000), headers: { connection: "close" } });
    const text = await res.text();
    if (!res.ok) return { error: `status ${res.status}` };
    if (!jsonField) return { value: text.trim() };
    let v: unknown = JSON.parse(text);
    for (const key of jsonField.split(".")) v = (v as Record<string, unknown> | undefined)?.[key];
    return v === undefined ? { error: `no field ${jsonField}` } : { value: typeof v === "string" ? v : JSON.stringify(v) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

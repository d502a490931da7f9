// Watches for evidence that a new generation of the service took over after a
// reload: new worker PIDs, a changed value at a declared HTTP endpoint, or a
// declared marker line in a log.
import type { GenerationSpec } from "../config/agent-config.js";
import { childrenOf, socketInodes } from "../process/proc-fs.js";
import { LogTail } from "./log-tail.js";

export type GenerationSource = "workers" | "http" | "log" | "none";

export interface GenerationWatcher {
  readonly source: GenerationSource;
  readonly before: string;
  readonly after: string;
  readonly note: string;
  /** True once a new generation has been seen. */
  poll(): Promise<boolean>;
}

/** `listenBefore`: the main process's listening sockets at baseline, which old workers share until they stop accepting. */
export async function startGenerationWatcher(spec: GenerationSpec, mainPid: number | undefined, workersBefore: number[], listenBefore: number[] = []): Promise<GenerationWatcher> {
  const kind = spec.kind === "auto" ? (mainPid !== undefined && workersBefore.length > 0 ? "workers" : "none") : spec.kind;
  switch (kind) {
    case "workers": {
      if (mainPid === undefined) return none("generation: workers needs a main process to watch; none is known for this reload method");
      const before = new Set(workersBefore);
      let after = workersBefore;
      let observed = false;
      return {
        source: "workers",
        before: workersBefore.join(","),
        get after() {
          return after.join(",");
        },
        note: "new worker processes appeared under the same main process and the old ones stopped listening",
        async poll() {
          if (observed) return true;
          after = await childrenOf(mainPid);
          if (!after.some((pid) => !before.has(pid))) return false;
          // Old workers drain their connections but must no longer accept new ones.
          const old = after.filter((pid) => before.has(pid));
          const listeners = new Set(listenBefore);
          const stillListening = await Promise.all(old.map(async (pid) => [...(await socketInodes(pid))].some((i) => listeners.has(i))));
          observed = !stillListening.some(Boolean);
          return observed;
        },
      };
    }
    case "http": {
      const s = spec as Extract<GenerationSpec, { kind: "http" }>;
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
        note: `value of ${s.json ? `"${s.json}" at ` : ""}${s.url} changed`,
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
    case "log": {
      const s = spec as Extract<GenerationSpec, { kind: "log" }>;
      const tail = new LogTail(s.path);
      await tail.begin();
      let after = "";
      return {
        source: "log",
        before: `${s.path} from its current end`,
        get after() {
          return after;
        },
        note: `a line matching /${s.marker.source}/ appeared in ${s.path}`,
        async poll() {
          if (!after) after = (await tail.findNew(s.marker)) ?? "";
          return after !== "";
        },
      };
    }
    default:
      return none(
        spec.kind === "none"
          ? "no generation evidence declared (generation: none): success rests on signal delivery, an unchanged main process and healthy probes only"
          : "no generation evidence available (the main process has no workers and no generation endpoint or log marker is declared): success rests on signal delivery, an unchanged main process and healthy probes only",
      );
  }
}

function none(note: string): GenerationWatcher {
  return { source: "none", before: "", after: "", note, poll: async () => false };
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

// Shows a rollout's events: a live per-batch, per-host display on a terminal,
// one line per event otherwise, NDJSON with --json.
import type { Plan, RolloutEvent } from "../../proto/gen/fleet/controller/v1/controller.js";
import { excludedLines } from "./diff-output.js";
import { printable } from "./printable.js";

export interface RolloutDisplay {
  event(e: RolloutEvent): void;
  end(): void;
}

const SYMBOL: Record<string, string> = { pending: "·", running: "…", ok: "✓", failed: "✗", skipped: "-" };

export function createRolloutDisplay(mode: "json" | "tty" | "lines", write: (s: string) => void = (s) => process.stdout.write(s)): RolloutDisplay {
  if (mode === "json") return { event: (e) => write(JSON.stringify(e) + "\n"), end() {} };
  if (mode === "lines") {
    return {
      event(e) {
        const t = new Date(Number(e.atMs)).toISOString().slice(11, 23);
        if (e.kind === "plan") {
          if (e.message.startsWith("following") || e.message.includes("resum")) write(`${t} ${e.message}\n`);
          write(`${t} ${e.rolloutId ? `rollout ${e.rolloutId}` : "plan"}: ${e.plan?.group} (${e.plan?.service}) — ${e.plan?.policy}\n`);
          const done = new Map((e.plan?.steps ?? []).filter((s) => s.status === "done").map((s) => [s.host, s.outcome]));
          for (const b of e.plan?.batches ?? []) write(`${t}   batch ${b.index}${b.canary ? " (canary)" : ""}: ${b.hosts.map((h) => (done.has(h) ? `${h} (${done.get(h)})` : h)).join(", ")}\n`);
          for (const x of excludedLines(e.plan)) write(`${t} ${x}\n`);
          return;
        }
        const host = e.host ? ` ${e.host}` : "";
        const outcome = e.outcome ? ` ${e.outcome}` : "";
        write(`${t} ${e.kind}${host}${outcome}: ${printable(e.message)}\n`);
      },
      end() {},
    };
  }
  // TTY: redraw the whole block in place.
  let plan: Plan | undefined;
  let id = 0;
  const hosts = new Map<string, { state: string; text: string; started: number }>();
  const notes: string[] = [];
  let drawn = 0;
  const draw = () => {
    if (!plan) return;
    const lines: string[] = [`rollout ${id || "(dry run)"}: ${plan.group} (${plan.service}) — ${plan.policy}`];
    for (const b of plan.batches) {
      lines.push(`  batch ${b.index}${b.canary ? " (canary)" : ""}`);
      for (const h of b.hosts) {
        const s = hosts.get(h) ?? { state: "pending", text: "", started: 0 };
        const elapsed = s.state === "running" && s.started ? ` ${((Date.now() - s.started) / 1000).toFixed(1)}s` : "";
        lines.push(`    ${SYMBOL[s.state] ?? "?"} ${h}${s.text ? `  ${s.text}` : elapsed}`);
      }
    }
    lines.push(...excludedLines(plan), ...notes.slice(-4));
    write((drawn ? `\x1b[${drawn}F\x1b[J` : "") + lines.join("\n") + "\n");
    drawn = lines.length;
  };
  return {
    event(e) {
      if (e.kind === "plan") {
        plan = e.plan;
        id = Number(e.rolloutId);
        for (const s of plan?.steps ?? []) if (s.status === "done") hosts.set(s.host, { state: s.ok ? "ok" : "failed", text: s.outcome + (s.ok ? "" : ` — ${s.reason}`), started: 0 });
        if (e.message.startsWith("following") || e.message.includes("resum")) notes.push(e.message);
      } else if (e.kind === "preflight_failed") hosts.set(e.host, { state: "failed", text: `preflight: ${e.outcome} — ${e.message}`, started: 0 });
      else if (e.kind === "host_started") hosts.set(e.host, { state: "running", text: "", started: Number(e.atMs) });
      else if (e.kind === "host_finished") hosts.set(e.host, { state: e.ok ? "ok" : "failed", text: `${e.outcome}${e.ok ? "" : ` — ${e.message}`}`, started: 0 });
      else if (e.kind === "finished") {
        for (const b of plan?.batches ?? []) for (const h of b.hosts) if (!hosts.has(h)) hosts.set(h, { state: "skipped", text: "skipped", started: 0 });
        notes.push(`${e.outcome}: ${e.message}`);
      } else if (e.kind === "preflight") notes.push(`preflight ${e.outcome}: ${e.message}`);
      else if (e.kind === "waiting_for_approval") notes.push(e.message);
      else if (e.kind !== "started" && e.kind !== "batch") notes.push(`${e.kind.replaceAll("_", " ")}: ${e.message}`);
      draw();
    },
    end() {},
  };
}

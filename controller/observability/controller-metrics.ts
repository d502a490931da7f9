// The controller's Prometheus metrics, fed by the controller's events. Label
// values are bounded by the inventory (group, host, schedule, webhook name) or
// by fixed word lists (kind, state, outcome, result); never a rollout id or a
// message.
import { statSync } from "node:fs";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RolloutRecord, ScheduleRun } from "../history/history-store.js";
import type { RolloutEvent } from "../rollout/rollout-executor.js";
import type { ControllerObserver } from "./controller-events.js";

const STEP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const ROLLOUT_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];
const WRITE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

interface Run {
  group: string;
  kind: string;
  startedAt: number;
  /** Hosts started and not finished, with their start time. */
  inFlight: Map<string, number>;
}

export class ControllerMetrics implements ControllerObserver {
  readonly registry = new Registry();
  private readonly runs = new Map<number, Run>();
  /** The (group, host) label pairs fleet_agent_reachable has, so removed hosts can be dropped. */
  private readonly reachedSeries = new Set<string>();
  private readonly rolloutsFinished: Counter<"group" | "kind" | "state">;
  private readonly rolloutsStarted: Counter<"group" | "kind">;
  private readonly steps: Counter<"group" | "kind" | "outcome">;
  private readonly stepDuration: Histogram<"group" | "kind">;
  private readonly rolloutDuration: Histogram<"group" | "kind" | "state">;
  private readonly scheduleRuns: Counter<"schedule" | "result">;
  private readonly reachable: Gauge<"group" | "host">;
  private readonly historyWrites: Histogram<"operation">;
  readonly webhookDeliveries: Counter<"endpoint" | "result">;

  /** `historyFiles` are the SQLite database and its WAL, measured at scrape time. */
  constructor(historyFiles: string[]) {
    const registers = [this.registry];
    const runs = this.runs;
    collectDefaultMetrics({ register: this.registry, prefix: "fleet_controller_" });
    this.rolloutsStarted = new Counter({ name: "fleet_rollouts_started_total", help: "Rollout runs started (a resume starts a run again), by group and kind.", labelNames: ["group", "kind"], registers });
    this.rolloutsFinished = new Counter({
      name: "fleet_rollouts_finished_total",
      help: "Rollout runs ended, by group, kind and final state (succeeded, failed, aborted, interrupted).",
      labelNames: ["group", "kind", "state"],
      registers,
    });
    new Gauge({
      name: "fleet_rollouts_running",
      help: "Rollouts running now, by group and kind.",
      labelNames: ["group", "kind"],
      registers,
      collect() {
        this.reset();
        for (const r of runs.values()) this.inc({ group: r.group, kind: r.kind });
      },
    });
    this.steps = new Counter({ name: "fleet_host_steps_total", help: "Host steps finished, by group, rollout kind and outcome (reloaded, rejected, unreachable, ...).", labelNames: ["group", "kind", "outcome"], registers });
    this.stepDuration = new Histogram({ name: "fleet_host_step_duration_seconds", help: "Time from a host's start to its outcome.", labelNames: ["group", "kind"], buckets: STEP_BUCKETS, registers });
    this.rolloutDuration = new Histogram({ name: "fleet_rollout_duration_seconds", help: "Time from a rollout run's start to its end, by final state.", labelNames: ["group", "kind", "state"], buckets: ROLLOUT_BUCKETS, registers });
    new Gauge({
      name: "fleet_hosts_in_flight",
      help: "Hosts being reloaded or pushed to right now, by group.",
      labelNames: ["group"],
      registers,
      collect() {
        this.reset();
        for (const r of runs.values()) if (r.inFlight.size) this.inc({ group: r.group }, r.inFlight.size);
      },
    });
    this.scheduleRuns = new Counter({
      name: "fleet_schedule_runs_total",
      help: "Schedule runs by result: unchanged or skipped when decided, else the state their rollout ended in.",
      labelNames: ["schedule", "result"],
      registers,
    });
    this.reachable = new Gauge({ name: "fleet_agent_reachable", help: "1 when the agent answered the controller's last call to it, 0 when it could not be reached.", labelNames: ["group", "host"], registers });
    new Gauge({
      name: "fleet_history_db_size_bytes",
      help: "Size of the history database on disk (database file and write-ahead log).",
      registers,
      collect() {
        this.set(historyFiles.reduce((sum, f) => sum + fileSize(f), 0));
      },
    });
    this.historyWrites = new Histogram({ name: "fleet_history_write_duration_seconds", help: "Time taken by history writes, by operation.", labelNames: ["operation"], buckets: WRITE_BUCKETS, registers });
    this.webhookDeliveries = new Counter({ name: "fleet_webhook_attempts_total", help: "Webhook delivery attempts by endpoint name and result (delivered, failed, gave_up, dropped).", labelNames: ["endpoint", "result"], registers });
  }

  rolloutEvent(e: RolloutEvent, rollout: RolloutRecord): void {
    const labels = { group: rollout.group, kind: rollout.kind };
    switch (e.kind) {
      case "started":
        this.rolloutsStarted.inc(labels);
        this.runs.set(e.rolloutId, { ...labels, startedAt: e.at, inFlight: new Map() });
        return;
      case "host_started":
        this.runs.get(e.rolloutId)?.inFlight.set(e.host, e.at);
        return;
      case "host_finished": {
        const run = this.runs.get(e.rolloutId);
        const started = run?.inFlight.get(e.host);
        run?.inFlight.delete(e.host);
        this.steps.inc({ ...labels, outcome: e.outcome || "unknown" });
        if (started !== undefined) this.stepDuration.observe(labels, Math.max(0, e.at - started) / 1000);
        this.agentReached(rollout.group, e.host, e.outcome !== "unreachable");
        return;
      }
      case "rollback":
        this.steps.inc({ group: rollout.group, kind: "rollback", outcome: e.outcome || "unknown" });
        return;
      case "finished": {
        const run = this.runs.get(e.rolloutId);
        this.runs.delete(e.rolloutId);
        const state = e.outcome || "unknown";
        this.rolloutsFinished.inc({ ...labels, state });
        if (run) this.rolloutDuration.observe({ ...labels, state }, Math.max(0, e.at - run.startedAt) / 1000);
        if (rollout.schedule) this.scheduleRuns.inc({ schedule: rollout.schedule, result: state });
        return;
      }
      default:
        return;
    }
  }

  scheduleRun(run: ScheduleRun): void {
    // A started run is counted when its rollout ends, by the state it ends in.
    if (run.outcome !== "started") this.scheduleRuns.inc({ schedule: run.name, result: run.outcome });
  }

  agentReached(group: string, host: string, reachable: boolean): void {
    this.reachedSeries.add(JSON.stringify([group, host]));
    this.reachable.set({ group, host }, reachable ? 1 : 0);
  }

  /** After a new inventory: hosts no longer in a group stop being reported (an alert must not fire for a decommissioned host). */
  retainAgents(current: { group: string; host: string }[]): void {
    const keep = new Set(current.map((x) => JSON.stringify([x.group, x.host])));
    for (const key of this.reachedSeries) {
      if (keep.has(key)) continue;
      const [group, host] = JSON.parse(key) as [string, string];
      this.reachable.remove({ group, host });
      this.reachedSeries.delete(key);
    }
  }

  historyWrite(operation: string, seconds: number): void {
    this.historyWrites.observe({ operation }, seconds);
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

// The agent's Prometheus metrics. Labels are bounded: service names come from
// the agent's own config, outcomes and refusal reasons from fixed word lists,
// RPC names from the API; never a request id, a path or a message.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ConfigChangeReport } from "../configs/config-change-report.js";
import type { ReloadReport } from "../reload/perform-reload.js";

/** What the agent's gRPC surface reports as it answers. */
export interface AgentServerObserver {
  reloaded(report: ReloadReport, replayed: boolean): void;
  configChanged(operation: "push" | "rollback", report: ConfigChangeReport, replayed: boolean): void;
  /** A call answered with an error; `reason` is an error kind (permission_denied, ...) or "internal". */
  refused(rpc: string, reason: string): void;
}

const PHASE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const PHASES = { check: "checkMs", signal: "signalMs", generation: "generationMs", healthy: "healthyMs", total: "totalMs" } as const;

export class AgentMetrics implements AgentServerObserver {
  readonly registry = new Registry();
  private readonly reloads: Counter<"service" | "outcome">;
  private readonly changes: Counter<"service" | "operation" | "outcome">;
  private readonly phases: Histogram<"service" | "phase">;
  private readonly probesSent: Counter<"service">;
  private readonly probesFailed: Counter<"service">;
  private readonly probesRefused: Counter<"service">;
  private readonly refusals: Counter<"rpc" | "reason">;
  private connections: () => Promise<number> = async () => 0;

  constructor() {
    const metrics = this;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "fleet_agent_" });
    this.reloads = new Counter({ name: "fleet_agent_reloads_total", help: "Reloads performed, by service and outcome (replayed answers are not counted again).", labelNames: ["service", "outcome"], registers });
    this.changes = new Counter({
      name: "fleet_agent_config_changes_total",
      help: "Config pushes and rollbacks, by service, operation (push, rollback) and outcome (unchanged, rejected, or the reload's outcome).",
      labelNames: ["service", "operation", "outcome"],
      registers,
    });
    this.phases = new Histogram({ name: "fleet_agent_reload_phase_duration_seconds", help: "Time spent in each reload phase (check, signal, generation, healthy, total).", labelNames: ["service", "phase"], buckets: PHASE_BUCKETS, registers });
    this.probesSent = new Counter({ name: "fleet_agent_reload_probes_total", help: "Health probes sent during reload windows.", labelNames: ["service"], registers });
    this.probesFailed = new Counter({ name: "fleet_agent_reload_probes_failed_total", help: "Health probes that failed during reload windows.", labelNames: ["service"], registers });
    this.probesRefused = new Counter({ name: "fleet_agent_reload_probes_refused_total", help: "Health probes whose connection was refused during reload windows.", labelNames: ["service"], registers });
    this.refusals = new Counter({ name: "fleet_agent_requests_refused_total", help: "Calls answered with an error, by RPC and reason (an error kind, never a message).", labelNames: ["rpc", "reason"], registers });
    new Gauge({
      name: "fleet_agent_connections",
      help: "Client connections currently open to the agent's gRPC server.",
      registers,
      async collect() {
        this.set(await metrics.connections());
      },
    });
  }

  /** Where the connection count comes from: the gRPC server, asked at scrape time. */
  countConnectionsWith(count: () => Promise<number>): void {
    this.connections = count;
  }

  reloaded(report: ReloadReport, replayed: boolean): void {
    if (replayed) return;
    this.reloads.inc({ service: report.service, outcome: report.outcome });
    this.observeReload(report);
  }

  configChanged(operation: "push" | "rollback", report: ConfigChangeReport, replayed: boolean): void {
    if (replayed) return;
    const outcome = report.change === "installed" ? (report.reload?.outcome ?? "failed") : report.change;
    this.changes.inc({ service: report.service, operation, outcome });
    if (report.reload) this.observeReload(report.reload);
  }

  refused(rpc: string, reason: string): void {
    this.refusals.inc({ rpc, reason });
  }

  private observeReload(report: ReloadReport): void {
    const { durations, probes } = report.evidence;
    for (const [phase, key] of Object.entries(PHASES)) {
      // A phase that did not run (no check, never signalled) is not a zero-length phase.
      if (durations[key] > 0 || phase === "total") this.phases.observe({ service: report.service, phase }, durations[key] / 1000);
    }
    this.probesSent.inc({ service: report.service }, probes.sent);
    this.probesFailed.inc({ service: report.service }, probes.failed);
    this.probesRefused.inc({ service: report.service }, probes.refused);
  }
}

// One host's agent call per kind of step — reload, push a config, restore a
// previous version — each turned into a StepResult. Nothing here throws: an
// agent that cannot be reached, refuses, or whose credential cannot be used
// fails that host with the real reason, never the rollout.
import { createHash } from "node:crypto";
import { AgentCallError, type AgentClient } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { ConfigChange, type ConfigChangeResponse, type ReloadResponse } from "../../proto/gen/fleet/agent/v1/agent.js";
import { inspectHost, type HostInspection } from "../agents/inspect-host.js";
import type { StepResult } from "../history/history-store.js";

/** Gives the client for an agent address; may throw (a credential that can no longer be used). */
export type AgentClientFactory = (address: string) => AgentClient;

/** Read at every call, so a SIGHUP that changes the inventory's deadlines applies to running rollouts. */
export type Deadlines = () => { reloadMs: number; probeMs: number };

/** Deterministic per (history, rollout, host): a resumed rollout re-asks with the same id, so an agent that already did it replays instead of acting twice. */
export function requestIdFor(instanceId: string, rolloutId: number, host: string): string {
  return `fleet-${instanceId}-r${rolloutId}-${createHash("sha256").update(host).digest("hex").slice(0, 16)}`;
}

/** A restore of `host` for config rollout `parentId`: the same id every time it is asked, from the rollout or from its resumed rollback entry. */
export function restoreRequestIdFor(instanceId: string, parentId: number, host: string): string {
  return `${requestIdFor(instanceId, parentId, host)}-rb`;
}

export class AgentActions {
  constructor(
    private readonly agents: AgentClientFactory,
    private readonly deadlines: Deadlines,
  ) {}

  reload(host: string, req: { requestId: string; service: string; allowRestart: boolean }): Promise<StepResult> {
    return this.call(host, async (c) => fromReload(await c.reload({ ...req, generationTimeoutMs: 0, healthyForMs: 0 }, { deadlineMs: this.deadlines().reloadMs })));
  }

  push(host: string, req: { requestId: string; service: string; path: string; content: Buffer; sha256: string; allowRestart: boolean }): Promise<StepResult & { installed: boolean }> {
    return this.call(host, async (c) => {
      const res = await c.pushConfig(req, { deadlineMs: this.deadlines().reloadMs });
      return { ...fromConfigChange(res), installed: res.change === ConfigChange.CONFIG_CHANGE_INSTALLED };
    }).then((r) => ({ installed: false, ...r }));
  }

  restore(host: string, req: { requestId: string; service: string; path: string; sha256: string; allowRestart: boolean }): Promise<StepResult> {
    return this.call(host, async (c) => fromConfigChange(await c.rollbackConfig(req, { deadlineMs: this.deadlines().reloadMs })));
  }

  /** What the preflight and status need to know of a host; never throws. */
  inspect(host: string, service: string): Promise<HostInspection> {
    return inspectHost(() => this.agents(host), service, this.deadlines().probeMs);
  }

  /** "" when healthy, else why not. */
  async probe(host: string, service: string): Promise<string> {
    try {
      const p = await this.agents(host).probe(service, { deadlineMs: this.deadlines().probeMs });
      return p.healthy ? "" : p.results.filter((x) => !x.ok).map((x) => `${x.probe}: ${x.detail}`).join("; ") || "unhealthy";
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  private async call<T extends StepResult>(host: string, work: (client: AgentClient) => Promise<T>): Promise<T | StepResult> {
    let client: AgentClient;
    try {
      client = this.agents(host);
    } catch (err) {
      return failed("failed", `cannot call ${host}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      return await work(client);
    } catch (err) {
      if (err instanceof AgentCallError) return failed(err.unreachable ? "unreachable" : "failed", err.message);
      return failed("failed", `${host}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function failed(outcome: "failed" | "unreachable", reason: string): StepResult {
  return { outcome, ok: false, reason, evidence: "", probesSent: 0, probesFailed: 0, probesRefused: 0 };
}

function fromReload(res: ReloadResponse): StepResult {
  const p = res.evidence?.probes;
  return {
    outcome: outcomeToWord(res.outcome) as StepResult["outcome"],
    ok: res.ok,
    reason: res.reason,
    evidence: JSON.stringify({ ...res.evidence, replayed: res.replayed }),
    probesSent: p?.sent ?? 0,
    probesFailed: p?.failed ?? 0,
    probesRefused: p?.refused ?? 0,
  };
}

function fromConfigChange(res: ConfigChangeResponse): StepResult {
  const reload = res.reload ? fromReload(res.reload) : undefined;
  const outcome = res.change === ConfigChange.CONFIG_CHANGE_UNCHANGED ? "unchanged" : res.change === ConfigChange.CONFIG_CHANGE_REJECTED ? "rejected" : reload?.outcome ?? "failed";
  return {
    outcome,
    ok: res.ok,
    reason: res.reason,
    evidence: JSON.stringify({ change: ConfigChange[res.change], check: res.check, reload: res.reload?.evidence, replayed: res.replayed }),
    probesSent: reload?.probesSent ?? 0,
    probesFailed: reload?.probesFailed ?? 0,
    probesRefused: reload?.probesRefused ?? 0,
    previousSha256: res.previousSha256,
    newSha256: res.newSha256,
  };
}

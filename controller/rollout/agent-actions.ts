// One host's agent call per kind of step — reload, push a config, restore a
// previous version — each turned into a StepResult. Nothing here throws: an
// agent that cannot be reached, refuses, or whose credential cannot be used
// fails that host with the real reason, never the rollout.
import { createHash } from "node:crypto";
import { AgentCallError, type AgentClient } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { ConfigChange, type ConfigChangeResponse, type ReloadResponse } from "../../proto/gen/fleet/agent/v1/agent.js";
import { answerMatches } from "./answer-matches.js";
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

export interface PushFile {
  path: string;
  content: Buffer;
  sha256: string;
}

export interface RestoreFile {
  path: string;
  /** "" = the file did not exist: remove it. */
  sha256: string;
}

export class AgentActions {
  constructor(
    private readonly agents: AgentClientFactory,
    private readonly deadlines: Deadlines,
  ) {}

  reload(host: string, req: { requestId: string; service: string; allowRestart: boolean }): Promise<StepResult> {
    // A promise chain rather than nested async functions: one call per host-step, fewer promises.
    return this.call(host, (c) => c.reload({ requestId: req.requestId, service: req.service, allowRestart: req.allowRestart, generationTimeoutMs: 0, healthyForMs: 0 }, { deadlineMs: this.deadlines().reloadMs }).then(fromReload));
  }

  /** Pushes a set (checked together, one reload); the controller restores on failure itself, as a recorded rollback entry. */
  push(host: string, req: { requestId: string; service: string; files: PushFile[]; allowRestart: boolean }): Promise<StepResult & { installed: boolean }> {
    const { files, ...rest } = req;
    // A set of one goes in the one-file form every agent version understands.
    const call = files.length === 1 ? { ...rest, ...files[0]! } : { ...rest, files };
    return this.call(host, async (c) => {
      const res = await c.pushConfig({ ...call, restoreOnFailure: false }, { deadlineMs: this.deadlines().reloadMs });
      return { ...fromConfigChange(res), installed: res.change === ConfigChange.CONFIG_CHANGE_INSTALLED };
    }).then((r) => ({ installed: false, ...r }));
  }

  /** Restores versions of a set (an empty hash: remove the file, it did not exist before). */
  restore(host: string, req: { requestId: string; service: string; files: RestoreFile[]; allowRestart: boolean }): Promise<StepResult> {
    const { files, ...rest } = req;
    const call = files.length === 1 && files[0]!.sha256 ? { ...rest, ...files[0]! } : { ...rest, files };
    // The agent's "ok" counts only if it restored exactly these versions (a damaged kept version must never pass as restored).
    return this.call(host, async (c) => answerMatches(fromConfigChange(await c.rollbackConfig(call, { deadlineMs: this.deadlines().reloadMs })), files, "asked to restore"));
  }

  /** The unified diff a push is about to apply, for the record (capped); never fails the host: why it is missing instead. */
  async diff(host: string, service: string, files: PushFile[]): Promise<string> {
    try {
      const r = await this.agents(host).diffConfig({ service, files, maxDiffBytes: STEP_DIFF_BYTES }, { deadlineMs: this.deadlines().probeMs });
      return capDiff(r.files.filter((f) => f.unifiedDiff).map((f) => f.unifiedDiff + (f.truncated ? `\n... (diff of ${f.path} truncated: +${f.addedLines} -${f.removedLines} lines in all)\n` : "")).join(""));
    } catch (err) {
      return `(no diff recorded: ${err instanceof Error ? err.message : String(err)})\n`;
    }
  }

  /** What the preflight needs to know of a host (answers, credentials, service declared and running, its config paths); never throws. */
  inspect(host: string, service: string): Promise<HostInspection> {
    return inspectHost(() => this.agents(host), service, this.deadlines().probeMs, { runningOnly: true });
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

  private call<T extends StepResult>(host: string, work: (client: AgentClient) => Promise<T>): Promise<T | StepResult> {
    let client: AgentClient;
    try {
      client = this.agents(host);
    } catch (err) {
      return Promise.resolve(failed("failed", `cannot call ${host}: ${err instanceof Error ? err.message : String(err)}`));
    }
    const fail = (err: unknown): StepResult => {
      if (err instanceof AgentCallError) return failed(err.unreachable ? "unreachable" : "failed", err.message);
      return failed("failed", `${host}: ${err instanceof Error ? err.message : String(err)}`);
    };
    try {
      return work(client).then(undefined, fail);
    } catch (err) {
      return Promise.resolve(fail(err));
    }
  }
}

/** A step's recorded diff, all files together. */
export const STEP_DIFF_BYTES = 64 * 1024;

function capDiff(text: string): string {
  if (Buffer.byteLength(text) <= STEP_DIFF_BYTES) return text;
  const cut = Buffer.from(text).subarray(0, STEP_DIFF_BYTES).toString("utf8");
  return `${cut.slice(0, cut.lastIndexOf("\n") + 1)}... (recorded diff capped at ${STEP_DIFF_BYTES} bytes)\n`;
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
    files: res.files.map((f) => ({ path: f.path, previous: f.previousSha256, new: f.newSha256 })),
  };
}

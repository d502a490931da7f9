// Fake agents for unit tests of the executor: each host has a live config
// (by hash), a reload counter, a health switch, and a request ledger that
// replays the first result for a repeated request id — the behaviour of the
// real agent that the executor relies on. Calls can be held in flight.
import { status, type ServiceError } from "@grpc/grpc-js";
import { AgentCallError, type AgentClient } from "../../common/agent-client.js";
import { ConfigChange, Outcome, type ConfigChangeResponse, type ReloadResponse } from "../../proto/gen/fleet/agent/v1/agent.js";

export interface FakeHost {
  live: string;
  reloads: number;
  healthy: boolean;
  /** Hashes that make the service unhealthy once installed. */
  badConfigs: Set<string>;
  unreachable: boolean;
  calls: { rpc: string; requestId: string; replayed: boolean; deadlineMs?: number }[];
  ledger: Map<string, Promise<unknown>>;
  gate?: Promise<void>;
}

const oneFile = (previousSha256: string, newSha256: string, change: ConfigChange) => ({
  files: [{ path: "/etc/web.conf", previousSha256, newSha256, change }],
  restored: false,
  restoreReload: undefined,
});

export class FakeAgents {
  readonly hosts = new Map<string, FakeHost>();

  constructor(addresses: string[], live = "sha-old") {
    for (const a of addresses) this.hosts.set(a, { live, reloads: 0, healthy: true, badConfigs: new Set(), unreachable: false, calls: [], ledger: new Map() });
  }

  host(address: string): FakeHost {
    const h = this.hosts.get(address);
    if (!h) throw new Error(`no fake host ${address}`);
    return h;
  }

  /** Holds every call to `address` until the returned function is called. */
  hold(address: string): () => void {
    let release!: () => void;
    this.host(address).gate = new Promise((r) => (release = r));
    return () => {
      this.host(address).gate = undefined;
      release();
    };
  }

  reloadCounts(): number[] {
    return [...this.hosts.values()].map((h) => h.reloads);
  }

  client = (address: string): AgentClient => {
    const h = this.host(address);
    const once = async <T extends { replayed: boolean }>(rpc: string, requestId: string, work: () => T, deadlineMs?: number): Promise<T> => {
      if (h.gate) await h.gate;
      if (h.unreachable) throw new AgentCallError(address, rpc, { code: status.UNAVAILABLE, details: "connection refused", message: "" } as ServiceError);
      const seen = h.ledger.get(requestId) as Promise<T> | undefined;
      h.calls.push({ rpc, requestId, replayed: seen !== undefined, deadlineMs });
      if (seen) return { ...(await seen), replayed: true };
      const result = Promise.resolve(work());
      h.ledger.set(requestId, result);
      return result;
    };
    const reloadResponse = (requestId: string): ReloadResponse => {
      h.reloads++;
      const healthy = h.healthy && !h.badConfigs.has(h.live);
      return { requestId, service: "web", outcome: healthy ? Outcome.OUTCOME_RELOADED : Outcome.OUTCOME_UNHEALTHY, reason: healthy ? "reloaded" : "health probe failed", evidence: undefined, replayed: false, hostname: address, ok: healthy };
    };
    const change = (requestId: string, sha: string): ConfigChangeResponse => {
      const previous = h.live;
      if (previous === sha) return { requestId, service: "web", path: "/etc/web.conf", change: ConfigChange.CONFIG_CHANGE_UNCHANGED, previousSha256: previous, newSha256: sha, check: undefined, reload: undefined, ok: true, reason: "unchanged", replayed: false, ...oneFile(previous, sha, ConfigChange.CONFIG_CHANGE_UNCHANGED) };
      h.live = sha;
      const reload = reloadResponse(requestId);
      return { requestId, service: "web", path: "/etc/web.conf", change: ConfigChange.CONFIG_CHANGE_INSTALLED, previousSha256: previous, newSha256: sha, check: undefined, reload, ok: reload.ok, reason: reload.reason, replayed: false, ...oneFile(previous, sha, ConfigChange.CONFIG_CHANGE_INSTALLED) };
    };
    return {
      address,
      // The preflight's questions: a fake host declares service web with /etc/web.conf and runs it.
      describe: async () => {
        if (h.unreachable) throw new AgentCallError(address, "Describe", { code: status.UNAVAILABLE, details: "connection refused", message: "" } as ServiceError);
        return { agentVersion: "fake", hostname: address, runAsUser: "root", services: [{ name: "web", reloadMethod: "signal", reloadSummary: "HUP", hasCheck: false, generation: "http", configPaths: ["/etc/web.conf"], healthProbes: [], allowRestart: false }] };
      },
      // Like a real agent: a service it does not declare is refused; the answer lists the declared config files.
      status: async (service = "") => {
        if (h.unreachable) throw new AgentCallError(address, "Status", { code: status.UNAVAILABLE, details: "connection refused", message: "" } as ServiceError);
        if (service && service !== "web") throw new AgentCallError(address, "Status", { code: status.PERMISSION_DENIED, details: `service "${service}" is not declared in this agent's config; declared: web`, message: "" } as ServiceError);
        const healthy = h.healthy && !h.badConfigs.has(h.live);
        const configs = [{ path: "/etc/web.conf", exists: h.live !== "", sha256: h.live, size: 0 }];
        return { hostname: address, services: [{ name: "web", running: true, healthy, main: undefined, workerPids: [], listenSocketInodes: [], probes: [], configs, error: "", evidence: "" }] };
      },
      reload: (req, o) => once("Reload", req.requestId, () => reloadResponse(req.requestId), o?.deadlineMs),
      probe: async () => {
        if (h.gate) await h.gate;
        const healthy = h.healthy && !h.badConfigs.has(h.live);
        return { service: "web", healthy, results: healthy ? [] : [{ probe: "http", ok: false, detail: "503", durationMs: 1 }] } as never;
      },
      pushConfig: (req, o) => once("PushConfig", req.requestId, () => change(req.requestId, req.sha256 ?? ""), o?.deadlineMs),
      rollbackConfig: (req, o) => once("RollbackConfig", req.requestId, () => change(req.requestId, req.sha256 ?? ""), o?.deadlineMs),
      diffConfig: () => Promise.reject(new Error("not faked")),
      fence: () => Promise.reject(new Error("not faked")),
      close: () => undefined,
    };
  };
}

// Domain results -> generated protobuf messages.
import { wordToOutcome } from "../../common/outcome-words.js";
import { ConfigChange, type ConfigChangeResponse, type DiffConfigResponse, type ProcessIdentity, type ReloadResponse, type ServiceStatus } from "../../proto/gen/fleet/agent/v1/agent.js";
import type { ConfigChangeReport } from "../configs/config-change-report.js";
import type { FileDiffReport } from "../configs/diff-config.js";
import type { ServiceStatusReport } from "../agent-core.js";
import type { MainProcess } from "../drivers/service-driver.js";
import { userName } from "../process/proc-fs.js";
import type { ReloadReport } from "../reload/perform-reload.js";

export function identityToProto(m: MainProcess | undefined): ProcessIdentity | undefined {
  if (!m) return undefined;
  return {
    pid: m.pid,
    startTime: m.startTime,
    invocationId: m.invocationId ?? "",
    nRestarts: m.nRestarts ?? 0,
    user: userName(m.uid),
    command: m.command.slice(0, 512),
  };
}

export function statusToProto(s: ServiceStatusReport): ServiceStatus {
  return {
    name: s.name,
    running: s.running,
    main: identityToProto(s.main),
    workerPids: s.workerPids,
    listenSocketInodes: s.listenSocketInodes,
    healthy: s.healthy,
    probes: s.probes,
    configs: s.configs,
    error: s.error,
    evidence: s.evidence,
  };
}

export function reloadToProto(r: ReloadReport & { requestId: string; replayed: boolean }, hostname: string): ReloadResponse {
  const e = r.evidence;
  return {
    requestId: r.requestId,
    service: r.service,
    outcome: wordToOutcome(r.outcome),
    ok: r.ok,
    reason: r.reason,
    replayed: r.replayed,
    hostname,
    evidence: {
      method: e.method,
      action: e.action,
      signalled: e.signalled,
      mainBefore: identityToProto(e.mainBefore),
      mainAfter: identityToProto(e.mainAfter),
      workersBefore: e.workersBefore,
      workersAfter: e.workersAfter,
      generation: e.generation,
      probes: e.probes,
      check: { ...e.check, timedOut: e.check.timedOut ?? false },
      durations: e.durations,
      rejectMarker: e.rejectMarker,
      configs: e.configs,
      listenSocketInodesBefore: e.listenBefore,
      listenSocketInodesAfter: e.listenAfter,
    },
  };
}

const CHANGE = { unchanged: ConfigChange.CONFIG_CHANGE_UNCHANGED, installed: ConfigChange.CONFIG_CHANGE_INSTALLED, rejected: ConfigChange.CONFIG_CHANGE_REJECTED } as const;

export function configChangeToProto(r: ConfigChangeReport & { requestId: string; replayed: boolean }, hostname: string): ConfigChangeResponse {
  return {
    requestId: r.requestId,
    service: r.service,
    path: r.path,
    change: CHANGE[r.change],
    previousSha256: r.previousSha256,
    newSha256: r.newSha256,
    check: { ...r.check, timedOut: r.check.timedOut ?? false },
    reload: r.reload ? reloadToProto({ ...r.reload, requestId: r.requestId, replayed: r.replayed }, hostname) : undefined,
    ok: r.ok,
    reason: r.reason,
    replayed: r.replayed,
    files: r.files.map((f) => ({ ...f, change: CHANGE[f.change] })),
    restored: r.restored,
    restoreReload: r.restoreReload ? reloadToProto({ ...r.restoreReload, requestId: r.requestId, replayed: r.replayed }, hostname) : undefined,
  };
}

export function diffToProto(d: { service: string; files: FileDiffReport[] }, hostname: string): DiffConfigResponse {
  return {
    service: d.service,
    hostname,
    files: d.files.map((f) => ({
      path: f.path,
      liveExists: f.liveExists,
      liveSha256: f.liveSha256,
      newSha256: f.newSha256,
      unifiedDiff: f.text,
      truncated: f.truncated,
      addedLines: f.addedLines,
      removedLines: f.removedLines,
      binary: f.binary,
    })),
  };
}

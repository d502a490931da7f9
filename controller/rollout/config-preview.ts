// Dry runs of config rollouts: each planned host's agent diffs the set it
// would get against its live files (DiffConfig, read-only), PREVIEW_CONCURRENCY
// at a time, each call under the usual deadline. A host that cannot answer says why.
import type { AgentClient } from "../../common/agent-client.js";
import { mapLimited } from "../../common/map-limited.js";
import type { FileDiffReport, HostDiffReport } from "../controller-api.js";
import type { RenderedFile } from "./render-config-set.js";
import { sha256 } from "./plan-config.js";

/** Per file, the diff text a dry run prints (the agent caps at 256 KiB). */
export const PREVIEW_DIFF_BYTES = 64 * 1024;
/** Each call carries the host's whole rendered set: a bounded number in flight, not one per host at once. */
export const PREVIEW_CONCURRENCY = 32;

export interface PreviewTarget {
  address: string;
  name: string;
  files: RenderedFile[];
}

export function previewConfigSet(clientFor: (address: string) => AgentClient, deadlineMs: number, service: string, targets: PreviewTarget[]): Promise<HostDiffReport[]> {
  return mapLimited(targets, PREVIEW_CONCURRENCY, (t) => previewHost(clientFor, deadlineMs, service, t));
}

async function previewHost(clientFor: (address: string) => AgentClient, deadlineMs: number, service: string, t: PreviewTarget): Promise<HostDiffReport> {
  try {
    const files = t.files.map((f) => ({ path: f.path, content: f.content, sha256: sha256(f.content) }));
    const r = await clientFor(t.address).diffConfig({ service, files, maxDiffBytes: PREVIEW_DIFF_BYTES }, { deadlineMs });
    return { host: t.name, address: t.address, error: "", files: r.files.map((f): FileDiffReport => ({ ...f })) };
  } catch (err) {
    return { host: t.name, address: t.address, error: err instanceof Error ? err.message : String(err), files: [] };
  }
}

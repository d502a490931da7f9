// Drift: a live config file whose hash differs from the one fleet last
// installed or restored on that host. Pure.
import type { DesiredFile } from "../history/history-store.js";
import type { FileDriftReport } from "../controller-api.js";

export interface LiveFile {
  path: string;
  exists: boolean;
  sha256: string;
}

/** Every declared file the agent reported, with the desired hash when fleet has one ("" desired = fleet removed it). */
export function compareDrift(live: LiveFile[], desired: DesiredFile[]): FileDriftReport[] {
  return live.map((f) => {
    const want = desired.find((d) => d.path === f.path);
    const liveSha256 = f.exists ? f.sha256 : "";
    return { path: f.path, exists: f.exists, liveSha256, desiredSha256: want?.sha256 ?? "", drifted: want !== undefined && want.sha256 !== liveSha256 };
  });
}

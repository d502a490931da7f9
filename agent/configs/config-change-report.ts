// The result of a config push or rollback, as AgentCore and the server see it.
import type { CheckReport, ReloadReport } from "../reload/perform-reload.js";

export interface ConfigChangeReport {
  service: string;
  path: string;
  change: "unchanged" | "installed" | "rejected";
  previousSha256: string;
  newSha256: string;
  check: CheckReport;
  reload?: ReloadReport;
  ok: boolean;
  reason: string;
}

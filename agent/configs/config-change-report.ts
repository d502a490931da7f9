// The result of a config push or rollback, as AgentCore and the server see it.
import type { CheckReport, ReloadReport } from "../reload/perform-reload.js";

export type ChangeKind = "unchanged" | "installed" | "rejected";

export interface FileChangeReport {
  path: string;
  /** "" when the file did not exist. */
  previousSha256: string;
  /** "" when the change removes the file. */
  newSha256: string;
  change: ChangeKind;
}

export interface ConfigChangeReport {
  service: string;
  /** The file's, when the set has exactly one; "" otherwise (see files). */
  path: string;
  change: ChangeKind;
  previousSha256: string;
  newSha256: string;
  check: CheckReport;
  reload?: ReloadReport;
  ok: boolean;
  reason: string;
  /** Every file of the set, in request order. */
  files: FileChangeReport[];
  /** The reload after the install failed and every file was put back (restore on failure). */
  restored: boolean;
  /** The reload after that restore. */
  restoreReload?: ReloadReport;
}

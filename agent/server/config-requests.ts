// PushConfig / RollbackConfig / DiffConfig requests -> the files they name:
// the single-file form (path, content, sha256) is a set of one; giving both
// forms, or neither, is refused before anything is read or written.
import { invalidArgument } from "../../common/errors.js";
import type { DiffConfigRequest, PushConfigRequest, RollbackConfigRequest } from "../../proto/gen/fleet/agent/v1/agent.js";
import type { ConfigFileInput } from "../agent-core.js";

export function pushedFiles(req: PushConfigRequest): ConfigFileInput[] {
  if (!req.service) throw invalidArgument("service is required");
  if (req.files.length) {
    if (req.path || req.content.length || req.sha256) throw invalidArgument("give either path, content and sha256 (one file) or files (a set), not both");
    return setFiles(req.files);
  }
  if (!req.path) throw invalidArgument("path (one file) or files (a set) is required");
  return [{ path: req.path, content: Buffer.from(req.content), sha256: req.sha256 }];
}

export function restoredFiles(req: RollbackConfigRequest): { path: string; sha256: string }[] {
  if (!req.service) throw invalidArgument("service is required");
  if (req.files.length) {
    if (req.path || req.sha256) throw invalidArgument("give either path and sha256 (one file) or files (a set), not both");
    req.files.forEach((f, i) => {
      if (!f.path) throw invalidArgument(`files[${i}].path is required`);
    });
    return req.files.map((f) => ({ path: f.path, sha256: f.sha256 }));
  }
  if (!req.path || !req.sha256) throw invalidArgument("path and sha256 (one file) or files (a set) are required");
  return [{ path: req.path, sha256: req.sha256 }];
}

export function diffedFiles(req: DiffConfigRequest): ConfigFileInput[] {
  if (!req.service) throw invalidArgument("service is required");
  if (!req.files.length) throw invalidArgument("files is required: the proposed files to diff");
  return setFiles(req.files);
}

function setFiles(files: { path: string; content: Uint8Array; sha256: string }[]): ConfigFileInput[] {
  return files.map((f, i) => {
    if (!f.path) throw invalidArgument(`files[${i}].path is required`);
    return { path: f.path, content: Buffer.from(f.content), sha256: f.sha256 };
  });
}

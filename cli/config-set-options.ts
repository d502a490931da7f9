// The files of `fleet rollout`: `--file LOCAL:REMOTE` and `--template LOCAL:REMOTE`, each
// repeatable and mixable, or the one-file form `--file LOCAL --path REMOTE`. Read here, so a
// missing local file is a usage error (exit 2) before anything is sent.
import { readFileSync } from "node:fs";
import { UsageError } from "./exit-codes.js";

export interface ConfigSetFlags {
  file?: string[];
  template?: string[];
  path?: string;
}

export interface ConfigSetFile {
  path: string;
  content: Buffer;
  template: boolean;
}

const USAGE = "--file LOCAL:REMOTE (repeatable), --template LOCAL:REMOTE (repeatable, mixable with --file), or --file LOCAL --path REMOTE";

/** Commander collector for repeatable options. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** LOCAL:REMOTE, split at the last ':' followed by '/': REMOTE is an absolute path. */
export function splitSpec(flag: string, spec: string): { local: string; remote: string } {
  const at = spec.lastIndexOf(":/");
  if (at <= 0) throw new UsageError(`${flag} ${JSON.stringify(spec)}: expected LOCAL:REMOTE with REMOTE an absolute path (or ${USAGE})`);
  return { local: spec.slice(0, at), remote: spec.slice(at + 1) };
}

export function readConfigSet(o: ConfigSetFlags): ConfigSetFile[] {
  const files = o.file ?? [];
  const templates = o.template ?? [];
  if (o.path !== undefined && files.length !== 1) throw new UsageError(`--path REMOTE goes with exactly one --file LOCAL (got ${files.length}); for several files use ${USAGE}`);
  if (files.length + templates.length === 0) throw new UsageError(`a config rollout needs ${USAGE}`);
  const specs = [
    ...files.map((f) => ({ flag: "--file", template: false, ...(o.path !== undefined ? { local: f, remote: o.path } : splitSpec("--file", f)) })),
    ...templates.map((t) => ({ flag: "--template", template: true, ...splitSpec("--template", t) })),
  ];
  return specs.map((s) => ({ path: s.remote, content: readLocal(s.flag, s.local), template: s.template }));
}

function readLocal(flag: string, local: string): Buffer {
  try {
    return readFileSync(local);
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${local}: ${(err as Error).message}`);
  }
}

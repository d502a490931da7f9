// Whether this agent can run a check inside a private mount namespace
// (root and a working unshare(1) from util-linux), asked once per process,
// and the argv that runs a check there.
import type { CommandRunner } from "../process/command-runner.js";
import { NAMESPACE_HELPER } from "./namespace-helper.js";

export interface MountNamespaces {
  /** undefined when checks can run in a private mount namespace, else why not. */
  unavailable(): Promise<string | undefined>;
}

const PROBE_TIMEOUT_MS = 5000;

export function mountNamespaces(runner: CommandRunner, uid = process.getuid?.() ?? -1): MountNamespaces {
  let answer: Promise<string | undefined> | undefined;
  return {
    unavailable: () => (answer ??= probe(runner, uid)),
  };
}

async function probe(runner: CommandRunner, uid: number): Promise<string | undefined> {
  if (uid !== 0) return `the agent runs as uid ${uid}, not root, and cannot create mount namespaces`;
  const r = await runner.run(["unshare", "--mount", "--propagation", "private", "--", "true"], { timeoutMs: PROBE_TIMEOUT_MS });
  if (r.exitCode === 0) return undefined;
  return `unshare --mount failed: ${r.spawnError ?? (r.output.trim() || `exit ${r.exitCode}`)}`;
}

/** The argv that applies `ops` (see namespace-helper.ts) in a new private mount namespace and then runs `check`. */
export function inMountNamespace(ops: string[], check: string[]): string[] {
  return ["unshare", "--mount", "--propagation", "private", "--", process.execPath, "-e", NAMESPACE_HELPER, "--", ...ops, "--", ...check];
}

/** Always available: for tests of the paths that do not depend on the machine. */
export const fixedMountNamespaces = (reason?: string): MountNamespaces => ({ unavailable: async () => reason });

// Runs a command's work with a controller client built from its own and the global flags, and
// always closes the client. `role` is what the command needs (read: status, history, show,
// schedules), which picks the read-only socket when that is all this user may open.
// The client module (gRPC, the proto code, yaml) is imported only here, when a command runs: `fleet
// --help` and usage errors never load it.
import type { Command } from "commander";
import type { ControllerClient } from "./controller-client.js";
import { UsageError, type ExitCode } from "./exit-codes.js";

export interface GlobalFlags {
  controller?: string;
  json?: boolean;
}

export async function withController<F extends GlobalFlags>(own: F, cmd: Command, work: (client: ControllerClient, flags: F) => Promise<ExitCode>, role: "read" | "operate" = "operate"): Promise<ExitCode> {
  const flags = { ...cmd.optsWithGlobals(), ...own } as F;
  const { ControllerClient, resolveControllerAddress } = await import("./controller-client.js");
  const client = new ControllerClient(resolveControllerAddress(flags.controller, role));
  try {
    return await work(client, flags);
  } finally {
    client.close();
  }
}

export function rolloutId(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`ID must be a rollout number, got ${JSON.stringify(text)}`);
  return n;
}

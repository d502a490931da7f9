// Builds an AgentClient from the CLI's connection flags. The client module (gRPC, the proto code)
// is imported only when a command connects.
import { readFileSync } from "node:fs";
import type { AgentClient } from "../../common/agent-client.js";
import { UsageError } from "../exit-codes.js";

export interface AgentConnectionFlags {
  tokenFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  serverName?: string;
  deadline?: number;
}

export async function connectAgent(address: string, flags: AgentConnectionFlags): Promise<AgentClient> {
  if (!/^(unix:\/.+|[A-Za-z0-9.-]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5})$/.test(address)) {
    throw new UsageError(`ADDRESS must be HOST:PORT or unix:/PATH, got ${JSON.stringify(address)}`);
  }
  const tokenFile = flags.tokenFile ?? process.env.FLEET_TOKEN_FILE;
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`cannot read ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const token = tokenFile ? read("--token-file", tokenFile).toString("utf8").trim() : undefined;
  let tls;
  if (flags.tlsCa || flags.tlsCert || flags.tlsKey) {
    if (!flags.tlsCa || !flags.tlsCert || !flags.tlsKey) throw new UsageError("--tls-ca, --tls-cert and --tls-key go together");
    tls = { ca: read("--tls-ca", flags.tlsCa), cert: read("--tls-cert", flags.tlsCert), key: read("--tls-key", flags.tlsKey), serverName: flags.serverName };
  }
  const { createAgentClient } = await import("../../common/agent-client.js");
  return createAgentClient(address, { token, tls, deadlineMs: flags.deadline, reloadDeadlineMs: flags.deadline ? Math.max(flags.deadline, 120_000) : undefined });
}

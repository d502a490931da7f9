// The controller's clients to its agents, one per address, made from the
// credentials resolved with the inventory. Before handing out a client it
// checks that the credential files still hold what was loaded: a credential
// removed, unreadable or replaced since then fails that host with the reason,
// instead of the controller quietly presenting a credential the operator took
// away.
import { createHash } from "node:crypto";
import { createAgentClient, type AgentClient, type AgentClientOptions } from "../../common/agent-client.js";
import { readSmallFile } from "../../common/read-small-file.js";
import type { CredentialFile, Inventory } from "../inventory/inventory.js";
import { MAX_CREDENTIAL_BYTES } from "../inventory/resolve-credentials.js";

export class AgentPool {
  private clients = new Map<string, AgentClient>();

  /** `fencing`: this controller's identity and epoch, carried by every mutating call (README, "Fencing"). */
  constructor(
    private readonly inventory: () => Inventory,
    private readonly fencing?: AgentClientOptions["fencing"],
  ) {}

  /** Throws when a credential file no longer holds what the inventory loaded. */
  client(address: string): AgentClient {
    const creds = this.inventory().credentials.agents;
    if (creds.mode === "token") stillHolds(creds.token);
    if (creds.mode === "tls") Object.values(creds.tls).forEach(stillHolds);
    let c = this.clients.get(address);
    if (!c) {
      const { deadlineMs, reloadDeadlineMs } = this.inventory().agents;
      const opts = { deadlineMs, reloadDeadlineMs, fencing: this.fencing };
      c =
        creds.mode === "token"
          ? createAgentClient(address, { ...opts, token: creds.token.bytes.toString("utf8").trim() })
          : creds.mode === "tls"
            ? createAgentClient(address, { ...opts, tls: { ca: creds.tls.ca.bytes, cert: creds.tls.cert.bytes, key: creds.tls.key.bytes } })
            : createAgentClient(address, opts);
      this.clients.set(address, c);
    }
    return c;
  }

  /** A new inventory (SIGHUP): clients are made again from its credentials. */
  reset(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  close(): void {
    this.reset();
  }
}

/** Checked before every agent call, on the event loop: never blocks (no FIFO waited on, no device read). */
function stillHolds(f: CredentialFile): void {
  const read = readSmallFile(f.file, MAX_CREDENTIAL_BYTES);
  if (!read.ok) {
    throw new Error(`${f.field} ${f.file} ${read.code ? `can no longer be read (${read.code})` : `can no longer be used (${read.reason})`}; the controller does not use a credential that was removed or replaced: put it back, or fix the inventory and SIGHUP`);
  }
  if (createHash("sha256").update(read.bytes).digest("hex") !== f.sha256) {
    throw new Error(`${f.field} ${f.file} changed since the inventory was loaded; SIGHUP the controller to load the new one`);
  }
}

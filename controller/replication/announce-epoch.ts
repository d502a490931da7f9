// At start, the controller tells every agent in its inventory its identity and
// epoch (the Fence RPC), so that hosts it has no work for also refuse the
// controller it replaced — not only the hosts a resumed rollout happens to
// reach. Agents that cannot be reached are asked again every 30 s (and hosts
// a SIGHUP adds, too); an agent that refuses means this controller is itself
// fenced: a newer one took over, and the log says so loudly.
import { status } from "@grpc/grpc-js";
import { AgentCallError, type AgentClient } from "../../common/agent-client.js";
import type { Logger } from "../../common/logger.js";

const ROUND_EVERY_MS = 30_000;
const AT_ONCE = 32;

export interface AnnouncerDeps {
  hosts: () => string[];
  client: (address: string) => AgentClient;
  deadlineMs: () => number;
  logger: Logger;
}

export class EpochAnnouncer {
  /** Hosts done with: acknowledged, refused (fenced) or without the Fence RPC. */
  private readonly settled = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: AnnouncerDeps) {}

  start(): void {
    this.round();
    this.timer = setInterval(() => this.round(), ROUND_EVERY_MS);
    this.timer.unref();
  }

  /** Resolves when the current round (if any) is over. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Hosts that have not acknowledged yet (for tests and status). */
  pending(): string[] {
    return [...new Set(this.deps.hosts())].filter((h) => !this.settled.has(h));
  }

  private round(): void {
    if (this.running || this.stopped) return;
    const todo = this.pending();
    if (!todo.length) return;
    this.running = (async () => {
      for (let i = 0; i < todo.length && !this.stopped; i += AT_ONCE) await Promise.all(todo.slice(i, i + AT_ONCE).map((h) => this.tell(h)));
    })().finally(() => (this.running = undefined));
  }

  private async tell(host: string): Promise<void> {
    try {
      await this.deps.client(host).fence({ deadlineMs: this.deps.deadlineMs() });
      this.settled.add(host);
    } catch (err) {
      if (err instanceof AgentCallError && err.code === status.FAILED_PRECONDITION) {
        this.settled.add(host);
        this.deps.logger.error("this controller is fenced: an agent has seen a newer epoch of it, so another controller took over; stop this one", { host, error: err.message });
      } else if (err instanceof AgentCallError && err.code === status.UNIMPLEMENTED) {
        this.settled.add(host);
        this.deps.logger.warn("agent has no Fence RPC (an older fleet-agent): it learns this controller's epoch at its first reload", { host });
      } else {
        this.deps.logger.debug("could not tell an agent this controller's epoch yet; retrying", { host, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
}

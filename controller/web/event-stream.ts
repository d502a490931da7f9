// Server-sent events for the web view: every rollout event goes to the open
// streams that want it. Bounded: a maximum number of streams, and a stream
// whose reader falls behind (too much unsent data) is closed, never buffered
// without end. Also knows which rollouts are running, for the list page.
import type { ServerResponse } from "node:http";
import type { RolloutRecord } from "../history/history-store.js";
import type { ControllerObserver } from "../observability/controller-events.js";
import type { RolloutEvent } from "../rollout/rollout-executor.js";

const MAX_STREAMS = 64;
const MAX_UNSENT_BYTES = 1 << 20;
const HEARTBEAT_MS = 15_000;

interface Stream {
  res: ServerResponse;
  /** Only this rollout's events; undefined = all. */
  rolloutId?: number;
  /** Whether the reader may still read (its certificate's role, after a config reload); absent = always. */
  admitted?: () => boolean;
}

export class EventStreams implements ControllerObserver {
  private readonly streams = new Set<Stream>();
  private readonly runningIds = new Set<number>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor() {
    this.heartbeat = setInterval(() => this.send(": heartbeat\n\n", () => true), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  running(): number[] {
    return [...this.runningIds].sort((a, b) => b - a);
  }

  rolloutEvent(e: RolloutEvent, _rollout: RolloutRecord): void {
    if (e.kind === "started") this.runningIds.add(e.rolloutId);
    if (e.kind === "finished") this.runningIds.delete(e.rolloutId);
    const { rollout: _final, ...event } = e;
    this.send(`data: ${JSON.stringify(event)}\n\n`, (s) => s.rolloutId === undefined || s.rolloutId === e.rolloutId);
  }

  /** Opens a stream on `res`; false when too many are open. */
  open(res: ServerResponse, rolloutId?: number, admitted?: () => boolean): boolean {
    if (this.streams.size >= MAX_STREAMS) return false;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
    res.write("retry: 2000\n\n");
    const stream = { res, rolloutId, admitted };
    this.streams.add(stream);
    res.on("close", () => this.streams.delete(stream));
    return true;
  }

  /** Ends the streams whose reader is no longer admitted (a certificate revoked by SIGHUP), or, with `all`, every checked one. */
  recheck(all = false): void {
    for (const s of this.streams) {
      if (!s.admitted || (!all && s.admitted())) continue;
      this.streams.delete(s);
      s.res.end();
    }
  }

  private send(chunk: string, wants: (s: Stream) => boolean): void {
    for (const s of this.streams) {
      if (!wants(s)) continue;
      if (s.res.writableLength > MAX_UNSENT_BYTES) {
        this.streams.delete(s);
        s.res.destroy();
        continue;
      }
      s.res.write(chunk);
    }
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const s of this.streams) s.res.end();
    this.streams.clear();
  }
}

// Every accepted connection passes here before the server behind it (the
// agent's gRPC, the HTTP listeners for metrics and the web view) serves it.
// Connections are bounded in total and per source address; a connection is
// "pending" until it carries an authenticated call or request, and pending ones
// are few, short-lived, and the first to go: a new connection evicts the oldest
// pending one rather than being refused, so a flood of connections that never
// start a handshake (or send garbage) cannot lock out a client that
// authenticates at once.
import type { Socket } from "node:net";
import type { Logger } from "./logger.js";

export interface GateLimits {
  maxConnections: number;
  maxConnectionsPerPeer: number;
  /** A pending connection is closed after this long. */
  handshakeTimeoutMs: number;
}

interface Conn {
  socket: Socket;
  peer: string;
  key: string;
  pending: boolean;
  timer?: NodeJS.Timeout;
}

const WARN_EVERY_MS = 10_000;

export class ConnectionGate {
  private readonly conns = new Set<Conn>();
  private readonly byKey = new Map<string, Conn>();
  private readonly perPeer = new Map<string, number>();
  private dropped = { evicted: 0, refused: 0, timedOut: 0 };
  private lastWarn = 0;

  constructor(
    private limits: GateLimits,
    private readonly pass: (socket: Socket) => void,
    private readonly logger: Logger,
  ) {}

  setLimits(limits: GateLimits) {
    this.limits = limits;
  }

  get open(): number {
    return this.conns.size;
  }

  /** Pending connections allowed per peer and in total: a quarter of the connection budgets. */
  private get pendingLimits() {
    return { perPeer: Math.max(2, Math.ceil(this.limits.maxConnectionsPerPeer / 4)), total: Math.max(4, Math.ceil(this.limits.maxConnections / 4)) };
  }

  admit(socket: Socket): void {
    // Nothing a client does to its socket may throw in the agent.
    socket.on("error", () => undefined);
    // A unix socket's file mode is its gate: those count toward the total only.
    const local = socket.remoteAddress === undefined;
    const peer = local ? "unix" : socket.remoteAddress!;
    if (!this.makeRoom(peer, local)) {
      this.dropped.refused++;
      this.warn();
      socket.destroy();
      return;
    }
    const conn: Conn = { socket, peer, key: `${socket.remoteAddress}:${socket.remotePort}`, pending: !local };
    this.conns.add(conn);
    this.perPeer.set(peer, (this.perPeer.get(peer) ?? 0) + 1);
    if (conn.pending) {
      this.byKey.set(conn.key, conn);
      conn.timer = setTimeout(() => {
        this.dropped.timedOut++;
        this.warn();
        socket.destroy();
      }, this.limits.handshakeTimeoutMs);
      conn.timer.unref();
    }
    socket.once("close", () => this.forget(conn));
    this.pass(socket);
  }

  /** The call from `peer` ("address:port", as grpc-js names it) authenticated: its connection is no longer pending. */
  authenticated(peer: string): void {
    const conn = this.byKey.get(peer);
    if (!conn) return;
    conn.pending = false;
    clearTimeout(conn.timer);
    this.byKey.delete(peer);
  }

  /** Closes every connection open now (the books are cleared at once, for the connections that come next). */
  closeAll(): void {
    for (const c of [...this.conns]) {
      c.socket.destroy();
      this.forget(c);
    }
  }

  private makeRoom(peer: string, local: boolean): boolean {
    const pending = [...this.conns].filter((c) => c.pending);
    const lim = this.pendingLimits;
    if (!local) {
      const samePeer = pending.filter((c) => c.peer === peer);
      if (samePeer.length >= lim.perPeer) this.evict(samePeer[0]!);
      else if (pending.length >= lim.total) this.evict(pending[0]!);
      if ((this.perPeer.get(peer) ?? 0) >= this.limits.maxConnectionsPerPeer) {
        const oldest = [...this.conns].find((c) => c.pending && c.peer === peer && !c.socket.destroyed);
        if (!oldest) return false;
        this.evict(oldest);
      }
    }
    if (this.conns.size >= this.limits.maxConnections) {
      const oldest = [...this.conns].find((c) => c.pending && !c.socket.destroyed);
      if (!oldest) return false;
      this.evict(oldest);
    }
    return true;
  }

  private evict(conn: Conn) {
    this.dropped.evicted++;
    this.warn();
    conn.socket.destroy();
    // 'close' comes later; the books must be right for the connection being admitted now.
    this.forget(conn);
  }

  private forget(conn: Conn) {
    if (!this.conns.delete(conn)) return;
    clearTimeout(conn.timer);
    if (this.byKey.get(conn.key) === conn) this.byKey.delete(conn.key);
    const n = (this.perPeer.get(conn.peer) ?? 1) - 1;
    if (n > 0) this.perPeer.set(conn.peer, n);
    else this.perPeer.delete(conn.peer);
  }

  private warn() {
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    this.logger.warn("closing connections that did not authenticate in time or exceed the connection limits", {
      ...this.dropped,
      open: this.conns.size,
      limits: this.limits,
    });
    this.dropped = { evicted: 0, refused: 0, timedOut: 0 };
  }
}

// The gate's bookkeeping with stand-in sockets: pending connections are
// evicted oldest-first, authenticated ones are kept, per-peer and total
// budgets hold, and a pending connection times out.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { test } from "node:test";
import { silentLogger } from "../../common/logger.js";
import { ConnectionGate } from "../../common/connection-gate.js";

let nextPort = 40000;
function fakeSocket(addr: string | undefined) {
  const s = new EventEmitter() as EventEmitter & { remoteAddress?: string; remotePort?: number; destroyed: boolean; destroy(): void };
  s.remoteAddress = addr;
  s.remotePort = addr ? nextPort++ : undefined;
  s.destroyed = false;
  s.destroy = () => {
    if (s.destroyed) return;
    s.destroyed = true;
    setImmediate(() => s.emit("close"));
  };
  return s;
}
const asSocket = (s: ReturnType<typeof fakeSocket>) => s as unknown as Socket;

test("a flood from one address evicts its own oldest pending connections; another address and authenticated ones are untouched", () => {
  const passed: Socket[] = [];
  const gate = new ConnectionGate({ maxConnections: 64, maxConnectionsPerPeer: 16, handshakeTimeoutMs: 60_000 }, (s) => passed.push(s), silentLogger);
  const legit = fakeSocket("127.0.0.1");
  gate.admit(asSocket(legit));
  gate.authenticated(`127.0.0.1:${legit.remotePort}`);
  const flood = Array.from({ length: 100 }, () => fakeSocket("127.0.0.2"));
  flood.forEach((s) => gate.admit(asSocket(s)));
  const pendingPerPeer = 4; // a quarter of max_connections_per_peer
  assert.equal(flood.filter((s) => !s.destroyed).length, pendingPerPeer);
  assert.deepEqual(flood.slice(-pendingPerPeer).map((s) => s.destroyed), [false, false, false, false], "the newest survive");
  assert.equal(legit.destroyed, false);
  assert.equal(gate.open, 1 + pendingPerPeer);
  const newcomer = fakeSocket("127.0.0.3");
  gate.admit(asSocket(newcomer));
  assert.equal(newcomer.destroyed, false, "another address still gets in");
  assert.equal(passed.length, 102);
});

test("when the total is full of authenticated connections a new one is refused; unix sockets count only toward the total", () => {
  const gate = new ConnectionGate({ maxConnections: 8, maxConnectionsPerPeer: 100, handshakeTimeoutMs: 60_000 }, () => undefined, silentLogger);
  for (let i = 0; i < 8; i++) {
    const s = fakeSocket(`10.0.0.${i}`);
    gate.admit(asSocket(s));
    gate.authenticated(`10.0.0.${i}:${s.remotePort}`);
  }
  const late = fakeSocket("10.0.1.1");
  gate.admit(asSocket(late));
  assert.equal(late.destroyed, true);
  const gate2 = new ConnectionGate({ maxConnections: 8, maxConnectionsPerPeer: 2, handshakeTimeoutMs: 60_000 }, () => undefined, silentLogger);
  const local = Array.from({ length: 6 }, () => fakeSocket(undefined));
  local.forEach((s) => gate2.admit(asSocket(s)));
  assert.equal(local.filter((s) => s.destroyed).length, 0, "unix connections are not pending and have no per-peer budget");
});

test("a pending connection is closed after handshake_timeout; closing frees its place", async () => {
  const gate = new ConnectionGate({ maxConnections: 8, maxConnectionsPerPeer: 8, handshakeTimeoutMs: 100 }, () => undefined, silentLogger);
  const quiet = fakeSocket("127.0.0.9");
  const authed = fakeSocket("127.0.0.9");
  gate.admit(asSocket(quiet));
  gate.admit(asSocket(authed));
  gate.authenticated(`127.0.0.9:${authed.remotePort}`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(quiet.destroyed, true);
  assert.equal(authed.destroyed, false);
  assert.equal(gate.open, 1);
});

// The probe loop against a real TCP listener: no round before the reload is sent (one would count
// for nothing and cost the agent before its signal), the first round right after, and a stop that
// ends a loop that never started its rounds.
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import type { ProbeSpec } from "../../agent/config/agent-config.js";
import { ProbeLoop } from "../../agent/probes/probe-loop.js";
import { processGroupRunner } from "../../agent/process/command-runner.js";

async function listener() {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, connections: () => connections, close: () => new Promise((r) => server.close(r)) };
}

test("no probe round before the window starts; the first right after markWindowStart, in the next turn", async () => {
  const l = await listener();
  const probes: ProbeSpec[] = [{ kind: "tcp", host: "127.0.0.1", port: l.port, timeoutMs: 1000 }];
  const loop = new ProbeLoop(probes, 10_000, processGroupRunner).start();
  try {
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(l.connections(), 0, "nothing probed before the reload is sent");
    const round = loop.nextRound();
    loop.markWindowStart();
    // What the caller does in the same turn (the signal) goes first.
    assert.equal(loop.counts.sent, 0);
    await round;
    assert.equal(loop.counts.sent, 1);
    assert.equal(loop.counts.failed, 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(l.connections(), 1, "one round, then the interval");
    assert.equal((await loop.stop()).sent, 1);
  } finally {
    await loop.stop();
    await l.close();
  }
});

test("stop before the window started: no round, nothing counted", async () => {
  const l = await listener();
  const loop = new ProbeLoop([{ kind: "tcp", host: "127.0.0.1", port: l.port, timeoutMs: 1000 }], 5, processGroupRunner).start();
  try {
    await new Promise((r) => setTimeout(r, 30));
    const counts = await loop.stop();
    assert.deepEqual(counts, { sent: 0, failed: 0, refused: 0, firstFailure: "" });
    assert.equal(l.connections(), 0);
  } finally {
    await loop.stop();
    await l.close();
  }
});

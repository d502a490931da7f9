// The opt-in loopback HTTP listeners (metrics; the web view shares the listener): a Host that is
// not a loopback name is refused (DNS rebinding), and slow-header clients are cut off near
// headersTimeout instead of holding every connection slot for ~35 s.
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/logger.js";
import { startMetricsServer } from "../../common/metrics-server.js";
import type { BoundHttp } from "../../common/http-listener.js";

function get(address: string, path: string, host: string): Promise<number> {
  const [h, p] = address.split(":");
  return new Promise((resolve, reject) => {
    const req = request({ host: h, port: Number(p), path, headers: { host } }, (res) => (res.resume(), resolve(res.statusCode!)));
    req.on("error", reject);
    req.end();
  });
}

describe("metrics listener hygiene", () => {
  let bound: BoundHttp;
  before(async () => {
    const registry = new Registry();
    bound = await startMetricsServer("127.0.0.1:0", registry, silentLogger);
  });
  after(() => bound.close());

  test("a DNS-rebinding Host header is refused (421)", async () => {
    assert.equal(await get(bound.address, "/metrics", "127.0.0.1"), 200);
    assert.equal(await get(bound.address, "/metrics", "attacker.example:80"), 421, "GET /metrics with Host: attacker.example was answered");
  });

  test("slow-header connections are closed near headersTimeout (5s), not after ~35s", async () => {
    const [h, p] = bound.address.split(":");
    const socks: Socket[] = [];
    for (let i = 0; i < 64; i++) {
      const s = connect(Number(p), h);
      s.on("error", () => {});
      s.write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      socks.push(s);
    }
    const drip = setInterval(() => socks.forEach((s) => !s.destroyed && s.write("X-a: b\r\n")), 2000);
    try {
      await new Promise((r) => setTimeout(r, 9000));
      const open = socks.filter((s) => !s.destroyed && !s.closed).length;
      const ok = await Promise.race([get(bound.address, "/metrics", "127.0.0.1").catch((e: Error) => e.message), new Promise((r) => setTimeout(() => r("no answer in 2s"), 2000))]);
      assert.equal(open, 0, `${open} of 64 slow-header connections still open 9s in (headersTimeout is 5s); a scrape now gives: ${ok}`);
    } finally {
      clearInterval(drip);
      socks.forEach((s) => s.destroy());
    }
  });
});

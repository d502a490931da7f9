// The agent's metrics over HTTPS (metrics: {listen, tls: true}) with a real
// agent daemon and real certificates: the agent's own certificate, key and CA;
// no client certificate or one from another CA refused at the handshake; the
// names tls.allow.Metrics lists read (parsed by a real exposition parser),
// others get 403 naming the list; a SIGHUP that changes the list applies at once;
// one with a chain file cut short is refused naming tls.cert, the old certificate
// serving on; a CA rotation closes keep-alive connections verified under the old CA;
// 64 silent connections from one address do not keep the allowed scraper out.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { initCa, issueCert } from "../../cli/certs/fleet-certs.js";
import { spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { certClient, httpsGet, httpsRefused, keepAliveConnection, type HttpsClient } from "../helpers/client-cert-https.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { metricsParserMissing, parseMetricsText } from "../helpers/scrape-metrics.js";
import { waitFor } from "../helpers/wait-for.js";

const skip = existsSync("/usr/bin/openssl") ? undefined : "openssl not installed (fleet certs needs it)";
if (skip) console.log(`# skipping agent metrics TLS tests: ${skip}`);

describe("agent metrics over TLS", { skip }, () => {
  const scratch = scratchDir();
  const pki = path.join(scratch.dir, "pki");
  const otherPki = path.join(scratch.dir, "other-pki");
  const conf = path.join(scratch.dir, "agent.yaml");
  const clients: Record<"mon" | "eve" | "foreignMon" | "none", HttpsClient> = {} as never;
  let agent: AgentProcess;
  let metricsAt: string;
  const yaml = (allow: string, dir = pki, cert = `${dir}/agent-127.0.0.1.crt`) => `listen: 127.0.0.1:0
tls: { cert: ${cert}, key: ${dir}/agent-127.0.0.1.key, ca: ${dir}/ca.crt, allow: { Metrics: [${allow}] } }
state_dir: ${scratch.dir}/state
metrics: { listen: 127.0.0.1:0, tls: true }
services:
  a:
    reload: { systemd: a.service }
`;

  before(async () => {
    await initCa(pki);
    await initCa(otherPki, "another CA");
    await issueCert(pki, "agent", "127.0.0.1");
    for (const name of ["mon", "eve"]) await issueCert(pki, "operator", name);
    await issueCert(otherPki, "operator", "mon");
    const ca = readFileSync(path.join(pki, "ca.crt"));
    Object.assign(clients, { mon: certClient(pki, "operator-mon", ca), eve: certClient(pki, "operator-eve", ca), foreignMon: certClient(otherPki, "operator-mon", ca), none: { ca } });
    writeFileSync(conf, yaml("mon"));
    agent = await spawnAgent(conf);
    metricsAt = await waitFor("agent metrics address", () => /"msg":"metrics listening","address":"([^"]+)"/.exec(agent.output())?.[1]);
  });

  after(async () => {
    if (agent) await agent.stopInside();
    scratch.remove();
  });

  test("a name in tls.allow.Metrics reads metrics that parse; another name gets 403 naming the list", { skip: metricsParserMissing() }, async () => {
    const ok = await httpsGet(metricsAt, "/metrics", clients.mon);
    assert.equal(ok.status, 200, ok.body.slice(0, 300));
    assert.equal(parseMetricsText(ok.body).family("fleet_agent_connections").type, "gauge");
    const refused = await httpsGet(metricsAt, "/metrics", clients.eve);
    assert.equal(refused.status, 403);
    assert.match(refused.body, /client eve may not read Metrics \(tls\.allow\.Metrics: mon\)/);
    assert.doesNotMatch(refused.body, /fleet_agent/);
  });

  test("no client certificate, or one from another CA: refused at the handshake", async () => {
    const none = await httpsRefused(metricsAt, "/metrics", clients.none);
    assert.match(`${none.code} ${none.message}`, /CERTIFICATE_REQUIRED/, `${none.code} ${none.message}`);
    const foreign = await httpsRefused(metricsAt, "/metrics", clients.foreignMon);
    assert.match(`${foreign.code} ${foreign.message}`, /UNKNOWN_CA|ECONNRESET|socket hang up/, `${foreign.code} ${foreign.message}`);
    // (Under TLS 1.3 the client has sent its certificate before the server rejects it: it sees a reset.) The listener still answers the CA's certificates.
    assert.equal((await httpsGet(metricsAt, "/metrics", clients.eve)).status, 403);
  });

  test("SIGHUP with another tls.allow.Metrics applies at once", async () => {
    writeFileSync(conf, yaml("eve"));
    agent.child.kill("SIGHUP");
    await waitFor("the reload", () => agent.output().includes('"msg":"config reloaded"'), 10_000);
    assert.equal((await httpsGet(metricsAt, "/metrics", clients.mon)).status, 403, "mon after it left the list");
    assert.equal((await httpsGet(metricsAt, "/metrics", clients.eve)).status, 200, "eve after it joined the list");
  });

  /** Sends SIGHUP and returns the log line that answers it. */
  const sighup = async () => {
    const before = agent.output().length;
    agent.child.kill("SIGHUP");
    return waitFor("the SIGHUP's outcome", () => agent.output().slice(before).split("\n").find((l) => /config reload/.test(l)), 10_000);
  };

  test("64 silent TCP connections from 127.0.0.2 do not keep the allowed scraper (127.0.0.1) out", async () => {
    const [host, port] = [metricsAt.split(":")[0]!, Number(metricsAt.split(":")[1])];
    writeFileSync(conf, yaml("mon"));
    assert.match(await sighup(), /config reloaded/);
    const idle: net.Socket[] = [];
    try {
      for (let i = 0; i < 64; i++) {
        const s = net.connect({ port, host, localAddress: "127.0.0.2" });
        s.on("error", () => undefined);
        idle.push(s);
        await new Promise<void>((r) => (s.once("connect", () => r()), s.once("close", () => r())));
      }
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await httpsGet(metricsAt, "/metrics", clients.mon)).status, 200);
      await waitFor("the flood's evicted connections to close", () => idle.filter((s) => !s.closed).length <= 4, 5000);
    } finally {
      for (const s of idle) s.destroy();
    }
  });

  test("SIGHUP with a chain file cut short as tls.cert: refused naming tls.cert, the old certificate keeps serving", async () => {
    writeFileSync(conf, yaml("mon"));
    assert.match(await sighup(), /config reloaded/);
    const cut = path.join(scratch.dir, "cut.crt");
    writeFileSync(cut, readFileSync(`${pki}/agent-127.0.0.1.crt`, "utf8") + "-----BEGIN CERTIFICATE-----\nMIIBkjCCATigAwIBAgIU\n-----END CERTIFICATE-----\n");
    writeFileSync(conf, yaml("mon", pki, cut));
    const line = await sighup();
    assert.match(line, /config reload refused/, line);
    assert.match(line, /tls\.cert is not a PEM certificate chain TLS can load/, line);
    assert.equal((await httpsGet(metricsAt, "/metrics", clients.mon)).status, 200);
  });

  test("CA rotation on SIGHUP: a keep-alive connection verified under the old CA is closed; the new CA's certificates read", async () => {
    writeFileSync(conf, yaml("mon"));
    assert.match(await sighup(), /config reloaded/);
    // The new CA is made first: the connection must not idle past keepAliveTimeout (5 s) before the SIGHUP.
    const pki2 = path.join(scratch.dir, "pki2");
    await initCa(pki2, "new fleet CA");
    await issueCert(pki2, "agent", "127.0.0.1");
    await issueCert(pki2, "operator", "mon");
    const conn = await keepAliveConnection(metricsAt, clients.mon);
    try {
      assert.equal(await conn.get("/metrics"), "HTTP/1.1 200 OK");
      writeFileSync(conf, yaml("mon", pki2));
      assert.match(await sighup(), /config reloaded/);
      assert.equal(await conn.get("/metrics"), "connection closed", "the old CA's connection still reads");
      const ca2 = readFileSync(`${pki2}/ca.crt`);
      assert.equal((await httpsGet(metricsAt, "/metrics", certClient(pki2, "operator-mon", ca2))).status, 200);
    } finally {
      conn.close();
    }
  });
});

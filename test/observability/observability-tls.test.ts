// The controller's metrics and web view over HTTPS (metrics.tls, web.tls) with a
// real controller daemon, real certificates from `fleet certs` and a real agent:
// no client certificate or one from another CA is refused at the handshake; a
// certificate without a role gets 403 naming the role and controller.operators;
// read and operate certificates read the metrics (parsed by a real exposition
// parser) and the web view, whose event stream delivers a rollout's events over
// TLS; a SIGHUP that removes the read name refuses it at once (its open event
// stream ends too) and serves a renewed certificate, without a restart.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { initCa, issueCert } from "../../cli/certs/fleet-certs.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { startWebService, type WebService } from "../helpers/web-service.js";
import { certClient, httpsGet, httpsRefused, openEventStream, type HttpsClient } from "../helpers/client-cert-https.js";
import { startControllerDaemon, type ControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { metricsParserMissing, parseMetricsText } from "../helpers/scrape-metrics.js";
import { waitFor } from "../helpers/wait-for.js";

const skip = existsSync("/usr/bin/openssl") ? undefined : "openssl not installed (fleet certs needs it)";
if (skip) console.log(`# skipping controller observability TLS tests: ${skip}`);

describe("controller metrics and web view over TLS", { skip }, () => {
  const scratch = scratchDir();
  const pki = path.join(scratch.dir, "pki");
  const otherPki = path.join(scratch.dir, "other-pki");
  let agent: AgentHarness;
  let service: WebService;
  let daemon: ControllerDaemon;
  let inventory: string;
  let metricsAt: string;
  let webAt: string;
  const clients: Record<"mon" | "alice" | "eve" | "foreignMon" | "none", HttpsClient> = {} as never;
  const operators = (read: string) => `, operators: { read: [${read}], operate: [alice] }`;

  before(async () => {
    await initCa(pki);
    await initCa(otherPki, "another CA");
    await issueCert(pki, "controller", "127.0.0.1");
    for (const name of ["mon", "alice", "eve"]) await issueCert(pki, "operator", name);
    await issueCert(otherPki, "operator", "mon");
    const ca = readFileSync(path.join(pki, "ca.crt"));
    Object.assign(clients, {
      mon: certClient(pki, "operator-mon", ca),
      alice: certClient(pki, "operator-alice", ca),
      eve: certClient(pki, "operator-eve", ca),
      // The same name, signed by a CA the controller does not trust.
      foreignMon: certClient(otherPki, "operator-mon", ca),
      none: { ca },
    });
    service = await startWebService(scratch.dir, "w1");
    agent = await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/agent-state
services:
  web:
    reload: { signal: HUP, pidfile: ${service.pidfile} }
    generation: { http: "http://127.0.0.1:${service.port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${service.port}/healthz" }]
    healthy_for: 100ms
`);
    const files = `{ cert: ${pki}/controller-127.0.0.1.crt, key: ${pki}/controller-127.0.0.1.key, ca: ${pki}/ca.crt }`;
    const extra = `metrics: { listen: 127.0.0.1:0, agent_check: 0s, tls: ${files} }\nweb: { listen: 127.0.0.1:0, tls: ${files} }\n`;
    inventory = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${agent.address}]\n    policy: { canary: 0 }\n`, extra, operators("mon"));
    daemon = await startControllerDaemon(inventory);
    metricsAt = await daemon.logField("metrics listening", "address");
    webAt = (await daemon.logField("web view listening", "address")).replace(/^https:\/\/|\/$/g, "");
  });

  after(async () => {
    await daemon?.stop();
    await agent?.stop();
    await service?.stop();
    scratch.remove();
  });

  test("the listeners log https and that client certificates are required", () => {
    assert.match(daemon.output(), /"msg":"metrics listening","address":"127\.0\.0\.1:\d+","path":"\/metrics","tls":"client certificates required"/);
    assert.match(daemon.output(), /"msg":"web view listening","address":"https:\/\/127\.0\.0\.1:\d+\/","tls":"client certificates required"/);
  });

  test("no client certificate, or one from another CA: refused at the handshake, no HTTP answer", async () => {
    for (const at of [`${metricsAt}/metrics`, `${webAt}/`]) {
      const [address, urlPath] = [at.slice(0, at.indexOf("/")), at.slice(at.indexOf("/"))];
      const none = await httpsRefused(address, urlPath, clients.none);
      assert.match(`${none.code} ${none.message}`, /CERTIFICATE_REQUIRED/, `${at} without a certificate: ${none.code} ${none.message}`);
      const foreign = await httpsRefused(address, urlPath, clients.foreignMon);
      assert.match(`${foreign.code} ${foreign.message}`, /UNKNOWN_CA|ECONNRESET|socket hang up/, `${at} with another CA's certificate: ${foreign.code} ${foreign.message}`);
    }
    // (Under TLS 1.3 the client has sent its certificate before the server rejects it: it sees a reset.)
    // The listeners are fine, and refused only those: a certificate from the CA gets an HTTP answer.
    assert.equal((await httpsGet(metricsAt, "/metrics", clients.eve)).status, 403);
    // Plain HTTP to the TLS port is no way round it.
    const plain = await fetch(`http://${metricsAt}/metrics`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, (e: Error) => e.message);
    assert.notEqual(plain, 200);
  });

  test("a certificate from the CA without a role: 403 naming the read role and controller.operators", async () => {
    const m = await httpsGet(metricsAt, "/metrics", clients.eve);
    assert.equal(m.status, 403);
    assert.match(m.body, /the metrics endpoint \(metrics\.tls\) needs the read role; certificate eve has no role \(controller\.operators: read \[mon\], operate \[alice\]\)/);
    assert.doesNotMatch(m.body, /fleet_/);
    const w = await httpsGet(webAt, "/", clients.eve);
    assert.equal(w.status, 403);
    assert.match(w.body, /the web view \(web\.tls\) needs the read role; certificate eve has no role \(controller\.operators/);
    assert.equal((await httpsGet(webAt, "/events", clients.eve)).status, 403, "no event stream either");
  });

  test("read and operate certificates: metrics that parse, and the web view", { skip: metricsParserMissing() }, async () => {
    for (const who of ["mon", "alice"] as const) {
      const m = await httpsGet(metricsAt, "/metrics", clients[who]);
      assert.equal(m.status, 200, `${who}: ${m.body.slice(0, 200)}`);
      const parsed = parseMetricsText(m.body);
      assert.equal(parsed.family("fleet_rollouts_running").type, "gauge");
      assert.ok(parsed.value("fleet_history_db_size_bytes")! > 0);
      const page = await httpsGet(webAt, "/", clients[who]);
      assert.equal(page.status, 200, `${who}: ${page.body.slice(0, 200)}`);
      assert.match(page.body, /<title>/);
    }
  });

  test("the web view's event stream delivers a rollout's events over TLS; SIGHUP without the read name refuses it at once and ends its stream", async () => {
    const stream = await openEventStream(webAt, "/events", clients.mon);
    try {
      assert.equal(stream.status, 200);
      const r = await runFleet(["reload", "web", "--yes", "--reason", "tls events"], { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      await waitFor("a started and a finished event on the stream", () => /"kind":"started"/.test(stream.text()) && /"kind":"finished"/.test(stream.text()), 20_000);
      assert.match(stream.text(), /^retry: 2000\n\n/);
      assert.equal(stream.ended(), false);

      // Revoke mon, and renew the controller's certificate, as an operator would: edit, SIGHUP.
      const before = new X509Certificate(readFileSync(path.join(pki, "controller-127.0.0.1.crt"))).fingerprint256;
      await issueCert(pki, "controller", "127.0.0.1");
      writeFileSync(inventory, readFileSync(inventory, "utf8").replace(operators("mon"), operators("")));
      daemon.child.kill("SIGHUP");
      await waitFor("the SIGHUP to be handled", () => /inventory reloaded|reload refused/.test(daemon.output()), 10_000);
      assert.match(daemon.output(), /inventory reloaded/);

      await waitFor("mon's open event stream to end", () => stream.ended(), 5000);
      const m = await httpsGet(metricsAt, "/metrics", clients.mon);
      assert.equal(m.status, 403, "mon reads metrics after the revocation");
      assert.match(m.body, /needs the read role; certificate mon has no role \(controller\.operators: read \[\], operate \[alice\]\)/);
      assert.equal((await httpsGet(webAt, "/", clients.mon)).status, 403, "mon reads the web view after the revocation");
      assert.equal((await httpsGet(webAt, "/events", clients.mon)).status, 403);
      assert.equal((await httpsGet(metricsAt, "/metrics", clients.alice)).status, 200, "operate still reads");

      // The renewed certificate is what a new connection sees, on both listeners.
      const renewed = new X509Certificate(readFileSync(path.join(pki, "controller-127.0.0.1.crt"))).fingerprint256;
      assert.notEqual(renewed, before);
      for (const address of [metricsAt, webAt]) assert.equal(await presented(address, clients.alice), renewed, `${address} serves the renewed certificate`);
      assert.equal(daemon.child.exitCode, null, "no restart");
    } finally {
      stream.close();
    }
  });
});

/** The certificate a new TLS connection to `address` is shown. */
function presented(address: string, client: HttpsClient): Promise<string> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port: Number(port), ...client }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.destroy();
    });
    s.setTimeout(5000, () => s.destroy(new Error("no handshake in 5s")));
    s.once("error", reject);
  });
}

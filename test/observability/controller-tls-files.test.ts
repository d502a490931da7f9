// Broken and hostile TLS files for metrics.tls / web.tls with the real
// fleet-controller daemon: a chain file cut short or a DER certificate passes a
// first-block parse but TLS cannot load it, so --check-config and start-up
// refuse it naming the field and the file; a SIGHUP bringing one (with a revoked
// name in the same edit) is refused as a whole — the log's "keeping the previous
// inventory" is true: the old operators still apply and the old files still
// serve; a FIFO or /dev/zero in a file's place is refused at once. A CA rotation
// (SIGHUP) closes the keep-alive connections verified under the old CA.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { initCa, issueCert } from "../../cli/certs/fleet-certs.js";
import { certClient, httpsGet, keepAliveConnection, openEventStream, type HttpsClient } from "../helpers/client-cert-https.js";
import { CONTROLLER_BIN, startControllerDaemon, type ControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const skip = existsSync("/usr/bin/openssl") ? undefined : "openssl not installed (fleet certs needs it)";
if (skip) console.log(`# skipping controller TLS file tests: ${skip}`);
/** What a chain file looks like when it is read while being rewritten: the second block cut short. */
const CUT_BLOCK = "-----BEGIN CERTIFICATE-----\nMIIBkjCCATigAwIBAgIU\n-----END CERTIFICATE-----\n";

describe("controller metrics/web TLS files: broken and hostile", { skip }, () => {
  const scratch = scratchDir();
  const pki = path.join(scratch.dir, "pki");
  const files = path.join(scratch.dir, "tls");
  let inventory: string;
  const clients: Record<"mon" | "alice", HttpsClient> = {} as never;
  const daemons: ControllerDaemon[] = [];
  const operators = (read: string) => `, operators: { read: [${read}], operate: [alice] }`;

  const write = (read: string, metricsCert = `${files}/metrics.crt`, metricsKey = `${files}/metrics.key`, ca = `${pki}/ca.crt`) => {
    const m = `{ cert: ${metricsCert}, key: ${metricsKey}, ca: ${ca} }`;
    const w = `{ cert: ${files}/web.crt, key: ${files}/web.key, ca: ${ca} }`;
    inventory = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [127.0.0.1:9]\n`, `metrics: { listen: 127.0.0.1:0, agent_check: 0s, tls: ${m} }\nweb: { listen: 127.0.0.1:0, tls: ${w} }\n`, operators(read));
  };
  const serverFiles = (from = pki) => {
    for (const l of ["metrics", "web"]) {
      copyFileSync(`${from}/controller-127.0.0.1.crt`, `${files}/${l}.crt`);
      copyFileSync(`${from}/controller-127.0.0.1.key`, `${files}/${l}.key`);
    }
  };
  const start = async () => {
    const d = await startControllerDaemon(inventory);
    daemons.push(d);
    return {
      d,
      metricsAt: await d.logField("metrics listening", "address"),
      webAt: (await d.logField("web view listening", "address")).replace(/^https:\/\/|\/$/g, ""),
    };
  };
  /** Sends SIGHUP and returns the log line that answers it. */
  const sighup = async (d: ControllerDaemon) => {
    const lines = () => d.output().split("\n").filter((l) => /inventory reload/.test(l));
    const n = lines().length;
    d.child.kill("SIGHUP");
    await waitFor("the SIGHUP to be handled", () => lines().length > n, 15_000);
    return lines().pop()!;
  };

  before(async () => {
    await initCa(pki);
    await issueCert(pki, "controller", "127.0.0.1");
    for (const name of ["mon", "alice"]) await issueCert(pki, "operator", name);
    const ca = readFileSync(path.join(pki, "ca.crt"));
    Object.assign(clients, { mon: certClient(pki, "operator-mon", ca), alice: certClient(pki, "operator-alice", ca) });
    mkdirSync(files);
  });

  after(async () => {
    for (const d of daemons) await d.stop();
    scratch.remove();
  });

  for (const [label, make] of [
    ["a chain file cut short", () => writeFileSync(`${files}/metrics.crt`, readFileSync(`${pki}/controller-127.0.0.1.crt`, "utf8") + CUT_BLOCK)],
    ["a DER (not PEM) certificate", () => execFileSync("/usr/bin/openssl", ["x509", "-in", `${pki}/controller-127.0.0.1.crt`, "-outform", "der", "-out", `${files}/metrics.crt`], { timeout: 10_000 })],
  ] as const) {
    test(`${label} as metrics.tls.cert: --check-config and start-up refuse it, naming metrics.tls.cert and the file`, async () => {
      serverFiles();
      make();
      write("mon");
      const check = execFileSync("/bin/sh", ["-c", `${JSON.stringify(CONTROLLER_BIN)} --config ${inventory} --check-config 2>&1; echo "exit $?"`], { timeout: 30_000 }).toString();
      assert.match(check, /metrics\.tls\.cert: \S*\/metrics\.crt is not a PEM certificate chain TLS can load/, check);
      assert.match(check, /exit 2\s*$/, check);
      const d = await startControllerDaemon(inventory, { waitListening: false });
      daemons.push(d);
      assert.equal(await Promise.race([d.exited, new Promise((r) => setTimeout(() => r("still running after 20 s"), 20_000))]), 2, d.output());
      assert.match(d.output(), /invalid config[\s\S]*metrics\.tls\.cert: \S*\/metrics\.crt is not a PEM certificate chain TLS can load/);
    });
  }

  test("SIGHUP with a cut-short metrics.tls.cert and mon revoked in the same edit: refused as a whole; mon and the old files still serve", async () => {
    serverFiles();
    write("mon");
    const { d, metricsAt, webAt } = await start();
    const stream = await openEventStream(webAt, "/events", clients.mon);
    try {
      assert.equal(stream.status, 200);
      writeFileSync(`${files}/metrics.crt`, readFileSync(`${pki}/controller-127.0.0.1.crt`, "utf8") + CUT_BLOCK);
      write("");
      const line = await sighup(d);
      assert.match(line, /inventory reload refused; keeping the previous inventory/, line);
      assert.match(line, /metrics\.tls\.cert: \S*\/metrics\.crt is not a PEM certificate chain/, line);
      // The previous inventory really is kept: mon's read role, its stream, the old certificate.
      assert.equal((await httpsGet(webAt, "/", clients.mon)).status, 200, "mon refused although the reload was refused");
      assert.equal((await httpsGet(metricsAt, "/metrics", clients.mon)).status, 200);
      assert.equal(stream.ended(), false);
      assert.doesNotMatch(d.output(), /inventory reloaded|tls files replaced/);

      // Fixed files and the same revocation: now it applies, and mon's stream ends.
      serverFiles();
      assert.match(await sighup(d), /inventory reloaded/);
      assert.equal((await httpsGet(webAt, "/", clients.mon)).status, 403);
      await waitFor("mon's event stream to end", () => stream.ended(), 5000);
    } finally {
      stream.close();
      await d.stop();
    }
  });

  test("SIGHUP with a FIFO as the key, or a symlink to /dev/zero as the cert: refused at once, the old files keep serving", async () => {
    serverFiles();
    write("mon");
    const { d, metricsAt } = await start();
    try {
      rmSync(`${files}/fifo.key`, { force: true });
      execFileSync("mkfifo", [`${files}/fifo.key`], { timeout: 5000 });
      write("mon", `${files}/metrics.crt`, `${files}/fifo.key`);
      assert.match(await sighup(d), /reload refused.*metrics\.tls\.key/);
      rmSync(`${files}/zero.crt`, { force: true });
      symlinkSync("/dev/zero", `${files}/zero.crt`);
      write("mon", `${files}/zero.crt`);
      assert.match(await sighup(d), /reload refused.*metrics\.tls\.cert/);
      assert.equal((await httpsGet(metricsAt, "/metrics", clients.mon)).status, 200);
    } finally {
      await d.stop();
    }
  });

  test("CA rotation (new ca, cert and key; SIGHUP): keep-alive connections verified under the old CA are closed; new ones need the new CA", async () => {
    serverFiles();
    write("mon");
    const { d, metricsAt, webAt } = await start();
    // The new CA is made first: the connections must not idle past keepAliveTimeout (5 s) before the SIGHUP.
    const pki2 = path.join(scratch.dir, "pki2");
    await initCa(pki2, "new fleet CA");
    await issueCert(pki2, "controller", "127.0.0.1");
    await issueCert(pki2, "operator", "mon");
    const conns = await Promise.all([metricsAt, webAt].map((at) => keepAliveConnection(at, clients.mon)));
    try {
      assert.equal(await conns[0]!.get("/metrics"), "HTTP/1.1 200 OK");
      assert.equal(await conns[1]!.get("/"), "HTTP/1.1 200 OK");
      serverFiles(pki2);
      write("mon", undefined, undefined, `${pki2}/ca.crt`);
      assert.match(await sighup(d), /inventory reloaded/);
      assert.equal(await conns[0]!.get("/metrics"), "connection closed", "metrics: the old CA's connection still reads");
      assert.equal(await conns[1]!.get("/"), "connection closed", "web: the old CA's connection still reads");
      const ca2 = readFileSync(`${pki2}/ca.crt`);
      await assert.rejects(httpsGet(metricsAt, "/metrics", { ...clients.mon, ca: ca2 }), "the old CA's certificate on a new connection");
      assert.equal((await httpsGet(metricsAt, "/metrics", certClient(pki2, "operator-mon", ca2))).status, 200, "the new CA's certificate reads");
    } finally {
      for (const c of conns) c.close();
      await d.stop();
    }
  });
});

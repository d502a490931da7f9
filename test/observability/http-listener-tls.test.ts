// The shared HTTPS listener with client certificates (common/http-listener.ts),
// in-process with certificates made by openssl: certificates that must not read
// (none, another CA, case, SAN only, expired, not yet valid, no clientAuth, a CA
// certificate) get no data; a name removed while connected gets 403 on the next
// request, a resumed session too; after a CA change an old session does not
// resume and keep-alive connections of the old CA are closed, while a renewed
// certificate alone keeps them; silent connections are closed after the
// handshake deadline, and a flood of them — from one address or from many —
// does not keep an admitted scraper out.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { startHttpListener, type BoundHttp, type TlsServerMaterial } from "../../common/http-listener.js";
import { createLogger } from "../../common/logger.js";
import { METRICS_LIMITS } from "../../common/metrics-server.js";
import { keepAliveConnection } from "../helpers/client-cert-https.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const skip = existsSync("/usr/bin/openssl") ? undefined : "openssl not installed";
if (skip) console.log(`# skipping the HTTPS listener tests: ${skip}`);
const scratch = scratchDir();
const dir = scratch.dir;
const ossl = (args: string[]) => execFileSync("/usr/bin/openssl", args, { cwd: dir, timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });

function ca(name: string): void {
  ossl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "30", "-subj", `/CN=${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
}

/** A leaf signed by `caName` with subject `subj` and extension lines `ext`. */
function leaf(file: string, caName: string, subj: string, ext: string[], days = "30"): void {
  ossl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${file}.key`, "-out", `${file}.csr`, "-subj", subj]);
  writeFileSync(path.join(dir, `${file}.ext`), ext.join("\n") + "\n");
  ossl(["x509", "-req", "-in", `${file}.csr`, "-CA", `${caName}.crt`, "-CAkey", `${caName}.key`, "-CAcreateserial", "-out", `${file}.crt`, "-days", days, "-extfile", `${file}.ext`]);
}

const CLIENT = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=clientAuth"];
const SERVER = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=serverAuth", "subjectAltName=IP:127.0.0.1"];

function notYetValid(file: string): void {
  const cadir = path.join(dir, "cadb");
  mkdirSync(cadir, { recursive: true });
  writeFileSync(path.join(cadir, "index.txt"), "");
  writeFileSync(path.join(cadir, "serial"), "1000\n");
  writeFileSync(path.join(cadir, "ca.cnf"), `[ca]\ndefault_ca = d\n[d]\ndir = ${cadir}\ndatabase = $dir/index.txt\nserial = $dir/serial\nnew_certs_dir = $dir\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n`);
  writeFileSync(path.join(dir, `${file}.ext`), CLIENT.join("\n") + "\n");
  ossl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${file}.key`, "-out", `${file}.csr`, "-subj", "/CN=mon"]);
  ossl(["ca", "-batch", "-config", path.join(cadir, "ca.cnf"), "-cert", "ca.crt", "-keyfile", "ca.key", "-in", `${file}.csr`, "-out", `${file}.crt`,
    "-startdate", "20990101000000Z", "-enddate", "21000101000000Z", "-extfile", `${file}.ext`, "-notext"]);
}

const read = (f: string) => readFileSync(path.join(dir, f));
const client = (name: string) => ({ cert: read(`${name}.crt`), key: read(`${name}.key`) });

/** Names admitted now (the test flips it as a SIGHUP would). */
const admitted = new Set<string>(["mon"]);
const log: string[] = [];
let bound: BoundHttp;
let material: TlsServerMaterial;
let host: string;
let port: number;

before(async () => {
  if (skip) return;
  ca("ca");
  ca("other");
  leaf("server", "ca", "/CN=127.0.0.1", SERVER);
  leaf("server2", "ca", "/CN=127.0.0.1", SERVER);
  leaf("mon", "ca", "/CN=mon", CLIENT);
  leaf("other-mon", "other", "/CN=mon", CLIENT);
  leaf("upper-mon", "ca", "/CN=Mon", CLIENT);
  leaf("multi-cn", "ca", "/CN=eve/CN=mon", CLIENT);
  leaf("multi-cn-rev", "ca", "/CN=mon/CN=eve", CLIENT);
  leaf("san-only", "ca", "/O=fleet", [...CLIENT, "subjectAltName=DNS:mon"]);
  leaf("server-eku-mon", "ca", "/CN=mon", SERVER);
  leaf("ca-as-client", "ca", "/CN=mon", ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]);
  leaf("expired", "ca", "/CN=mon", CLIENT, "-1");
  notYetValid("future");
  material = { cert: read("server.crt"), key: read("server.key"), ca: read("ca.crt") };
  bound = await startHttpListener({
    name: "metrics",
    listen: "127.0.0.1:0",
    handler: (_req, res) => res.writeHead(200).end("secret-metrics\n"),
    tls: { material, refuse: (name) => (name !== undefined && admitted.has(name) ? undefined : `refused ${name}`) },
    limits: METRICS_LIMITS,
    logger: createLogger({ write: (l) => log.push(l) }),
  });
  host = "127.0.0.1";
  port = Number(bound.address.split(":")[1]);
});

after(async () => {
  await bound?.close();
  scratch.remove();
});

/** One request on a fresh TLS connection; "refused: ..." when the handshake or connection fails. */
function get(opts: tls.ConnectionOptions & { localAddress?: string }, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host, port, ca: material.ca, servername: undefined, ...opts });
    let data = "";
    const done = (v: string) => (clearTimeout(timer), s.destroy(), resolve(v));
    const timer = setTimeout(() => done(`timeout ${data}`), timeoutMs);
    s.on("secureConnect", () => s.write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    s.on("data", (d) => (data += d));
    s.on("end", () => done(data || "refused: closed"));
    s.on("error", (e) => done(data || `refused: ${e.message}`));
  });
}

describe("client certificates that must not read", { skip }, () => {
  for (const [label, name, expectNoData] of [
    ["no certificate", undefined, true],
    ["certificate from another CA with the admitted CN", "other-mon", true],
    ["CN differing only in case (Mon vs mon)", "upper-mon", true],
    ["SAN names mon but the subject has no CN", "san-only", true],
    ["expired certificate with CN mon", "expired", true],
    ["not-yet-valid certificate with CN mon", "future", true],
    ["serverAuth-only certificate (no clientAuth EKU) with CN mon", "server-eku-mon", true],
    ["a CA certificate (CA:TRUE, keyCertSign only) with CN mon", "ca-as-client", true],
  ] as const) {
    test(`${label}: no metrics`, async () => {
      const out = await get(name ? client(name) : {});
      assert.doesNotMatch(out, /secret-metrics/, `${label} read the metrics: ${out.slice(0, 200)}`);
    });
  }

  test("a subject with two CNs: the first is the identity", async () => {
    assert.doesNotMatch(await get(client("multi-cn")), /secret-metrics/, "a certificate whose first CN is eve read as mon"); // CN=eve, CN=mon
    assert.match(await get(client("multi-cn-rev")), /secret-metrics/); // CN=mon, CN=eve
  });

  test("plain HTTP and an HTTP/2 preface on the TLS port: no data, listener still serves", async () => {
    for (const payload of ["GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]) {
      const out = await new Promise<string>((resolve) => {
        const s = net.connect(port, host, () => s.write(payload));
        let d = "";
        const t = setTimeout(() => (s.destroy(), resolve(d)), 3000);
        s.on("data", (c) => (d += c.toString("latin1")));
        s.on("close", () => (clearTimeout(t), resolve(d)));
        s.on("error", () => undefined);
      });
      assert.doesNotMatch(out, /secret-metrics/);
    }
    assert.match(await get(client("mon")), /secret-metrics/);
  });
});

describe("refusals leave a trace", { skip }, () => {
  test("refused handshakes and 403s are logged with the address, at most one line per address per minute", async () => {
    const refusals = () => log.filter((l) => /"msg":"refused a/.test(l)).map((l) => JSON.parse(l) as { msg: string; peer: string; listener: string });
    // The tests above were refused many times from 127.0.0.1: one line.
    assert.deepEqual(refusals().filter((r) => r.peer === "127.0.0.1").length, 1, JSON.stringify(refusals()));
    assert.equal(refusals()[0]!.listener, "metrics");
    // Another address gets its own line: a handshake without a certificate, then a name without access.
    for (const localAddress of ["127.0.0.3", "127.0.0.3", "127.0.0.4"]) assert.match(await get({ localAddress }), /^refused/);
    admitted.delete("mon");
    assert.match(await get({ ...client("mon"), localAddress: "127.0.0.5" }), /^HTTP\/1\.1 403/);
    admitted.add("mon");
    await waitFor("the refusals to be logged", () => refusals().some((r) => r.peer === "127.0.0.5"), 2000);
    const byPeer = (peer: string) => refusals().filter((r) => r.peer === peer);
    assert.equal(byPeer("127.0.0.3").length, 1);
    assert.match(byPeer("127.0.0.3")[0]!.msg, /^refused a TLS handshake/);
    assert.equal(byPeer("127.0.0.4").length, 1);
    assert.match(byPeer("127.0.0.5")[0]!.msg, /^refused a request \(403\)/);
  });
});

describe("revocation for an already-connected or resuming peer", { skip }, () => {
  test("keep-alive: the second request on the same connection after the name is removed gets 403", async () => {
    admitted.add("mon");
    const s = tls.connect({ host, port, ca: material.ca, ...client("mon") });
    try {
      await new Promise<void>((r, j) => (s.once("secureConnect", () => r()), s.once("error", j)));
      let data = "";
      s.on("data", (d) => (data += d));
      s.write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
      await waitFor("first answer", () => /secret-metrics/.test(data), 5000);
      admitted.delete("mon");
      data = "";
      s.write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
      await waitFor("two pipelined answers", () => (data.match(/HTTP\/1\.1 \d+/g) ?? []).length >= 2 || s.destroyed, 5000);
      assert.doesNotMatch(data, /secret-metrics/, `after revocation: ${data}`);
    } finally {
      s.destroy();
      admitted.add("mon");
    }
  });

  test("TLS session resumption after the name is removed: 403, and after the CA is replaced: no resumption", async () => {
    admitted.add("mon");
    const session = await new Promise<Buffer>((resolve, reject) => {
      const s = tls.connect({ host, port, ca: material.ca, ...client("mon") });
      s.on("session", (sess) => (resolve(sess), s.destroy()));
      s.on("secureConnect", () => s.write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      s.on("error", reject);
      setTimeout(() => reject(new Error("no session ticket")), 5000);
    });
    admitted.delete("mon");
    const resumed = await new Promise<{ reused: boolean; out: string }>((resolve) => {
      const s = tls.connect({ host, port, ca: material.ca, session, ...client("mon") });
      let out = "";
      let reused = false;
      s.on("secureConnect", () => ((reused = s.isSessionReused()), s.write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
      s.on("data", (d) => (out += d));
      s.on("close", () => resolve({ reused, out }));
      s.on("error", () => undefined);
      setTimeout(() => s.destroy(), 5000);
    });
    assert.doesNotMatch(resumed.out, /secret-metrics/);
    admitted.add("mon");

    // CA rotation (SIGHUP with a new ca file): a ticket from a session verified under the old CA must not resume.
    const ticket = await sessionOf("mon");
    bound.prepareTls!({ ...material, ca: read("other.crt") })();
    try {
      const r = await resume(ticket, "mon");
      assert.doesNotMatch(r.out, /secret-metrics/, "a session from the old CA resumed and read after the CA was replaced");
    } finally {
      bound.prepareTls!(material)();
    }
  });

  test("a new CA closes the keep-alive connections verified under the old one; a renewed certificate alone keeps them", async () => {
    admitted.add("mon");
    const conn = await keepAliveConnection(bound.address, { ca: material.ca, ...client("mon") });
    try {
      assert.equal(await conn.get("/metrics"), "HTTP/1.1 200 OK");
      bound.prepareTls!({ ...material, cert: read("server2.crt"), key: read("server2.key") })();
      assert.equal(await conn.get("/metrics"), "HTTP/1.1 200 OK", "a renewed certificate (same CA) closed the connection");
      bound.prepareTls!({ ...material, ca: Buffer.concat([material.ca, read("other.crt")]) })();
      assert.equal(await conn.get("/metrics"), "connection closed", "the connection verified under the previous CA still reads");
    } finally {
      conn.close();
      bound.prepareTls!(material)();
    }
  });

  test("files TLS cannot load: prepareTls throws and the listener serves on unchanged", async () => {
    const cut = Buffer.from(read("server.crt").toString() + "-----BEGIN CERTIFICATE-----\nMIIBkjCCATigAwIBAgIU\n-----END CERTIFICATE-----\n");
    assert.throws(() => bound.prepareTls!({ ...material, cert: cut }));
    assert.throws(() => bound.prepareTls!({ ...material, key: read("mon.key") }));
    assert.match(await get(client("mon")), /secret-metrics/);
  });
});

function sessionOf(name: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const s = tls.connect({ host, port, ca: material.ca, ...client(name) });
    s.on("session", (sess) => (resolve(sess), s.destroy()));
    s.on("secureConnect", () => s.write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    s.on("error", reject);
    setTimeout(() => reject(new Error("no session ticket")), 5000);
  });
}

function resume(session: Buffer, name: string): Promise<{ reused: boolean; out: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host, port, ca: material.ca, session, ...client(name) });
    let out = "";
    let reused = false;
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on("secureConnect", () => ((reused = s.isSessionReused()), s.write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
    s.on("data", (d) => (out += d));
    s.on("close", () => (clearTimeout(timer), resolve({ reused, out })));
    s.on("error", () => undefined);
  });
}

describe("resource use before authorization", { skip }, () => {
  test("a TCP connection that never starts the handshake, and one that trickles its ClientHello, are closed near the 10 s deadline", async () => {
    const idle = net.connect(port, host);
    idle.on("error", () => undefined);
    // A real ClientHello's first bytes (record header + start), then one byte a second.
    const trickle = net.connect(port, host);
    trickle.on("error", () => undefined);
    const hello = Buffer.from("16030100c8010000c40303" + "00".repeat(190), "hex");
    let i = 0;
    const timer = setInterval(() => !trickle.destroyed && i < hello.length && trickle.write(hello.subarray(i, ++i)), 1000);
    try {
      await waitFor("both to be closed", () => idle.closed && trickle.closed, 25_000, 200);
    } finally {
      clearInterval(timer);
      idle.destroy();
      trickle.destroy();
    }
  });

  test("64 silent connections from 127.0.0.2: a scraper from 127.0.0.1 still reads; the flood keeps at most 4 connections open", async () => {
    const idle = await silentConnections(Array.from({ length: 64 }, () => "127.0.0.2"));
    try {
      assert.match(await get(client("mon")), /secret-metrics/, "the admitted scraper during the flood");
      await waitFor("the evicted connections to close", () => idle.filter((s) => !s.closed).length <= 4, 5000);
      // Evicted connections come back at once: the scraper still gets in every time.
      for (let round = 0; round < 3; round++) {
        idle.push(...(await silentConnections(Array.from({ length: 16 }, () => "127.0.0.2"))));
        assert.match(await get(client("mon")), /secret-metrics/, `round ${round}`);
      }
    } finally {
      for (const s of idle) s.destroy();
    }
  });

  test("silent connections from 80 addresses (one each) fill no more than the pending budget: the scraper still reads", async () => {
    const idle = await silentConnections(Array.from({ length: 80 }, (_, i) => `127.0.0.${i + 2}`));
    try {
      assert.match(await get(client("mon")), /secret-metrics/);
      await waitFor("the oldest to be evicted", () => idle.filter((s) => !s.closed).length <= 16, 5000);
    } finally {
      for (const s of idle) s.destroy();
    }
  });

  test("a certificate the owner does not admit (403) keeps its connections pending: no more than 4 of them stay open", async () => {
    admitted.delete("mon");
    const conns = await Promise.all(Array.from({ length: 8 }, () => keepAliveConnection(bound.address, { ca: material.ca, ...client("mon") })));
    try {
      // Only 4 may wait for an admitted request at once: each newer one evicted the oldest.
      const answers = [];
      for (const c of conns) answers.push(await c.get("/metrics"));
      assert.equal(answers.filter((a) => a === "connection closed").length, 4, JSON.stringify(answers));
      assert.ok(answers.filter((a) => a !== "connection closed").every((a) => /^HTTP\/1\.1 403/.test(a)), JSON.stringify(answers));
    } finally {
      admitted.add("mon");
      for (const c of conns) c.close();
    }
  });
});

/** Opens a TCP connection from each source address that sends nothing. */
async function silentConnections(from: string[]): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (const localAddress of from) {
    const s = net.connect({ port, host, localAddress });
    s.on("error", () => undefined);
    sockets.push(s);
    await new Promise<void>((r) => (s.once("connect", () => r()), s.once("error", () => r()), s.once("close", () => r())));
  }
  // The server has seen them all before the scraper comes.
  await new Promise((r) => setTimeout(r, 200));
  return sockets;
}

// The agent's lifecycle edges with a real daemon: shutdown's deadline
// interrupts work that would outlast it (and says so), and SIGHUP replaces the
// TLS certificate new connections see without a restart.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { createAgentClient } from "../../common/agent-client.js";
import { initCa, issueCert } from "../../cli/certs/fleet-certs.js";
import { listProcs } from "../../agent/process/proc-fs.js";
import { spawnAgent } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

describe("shutdown deadline", () => {
  const scratch = scratchDir();
  after(() => scratch.remove());

  test("work still running at shutdown_timeout is interrupted: its process group killed, the caller told, the agent exits 0", async () => {
    const marker = `sleep 45.${process.pid}`;
    const conf = path.join(scratch.dir, "agent.yaml");
    writeFileSync(conf, `listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/state
shutdown_timeout: 1s
services:
  slow:
    reload: { command: [/bin/sh, -c, "${marker}"] }
    generation: none
    command_timeout: 60s
`);
    const agent = await spawnAgent(conf);
    const client = createAgentClient(agent.address, { reloadDeadlineMs: 30_000 });
    try {
      const pending = client.reload({ requestId: "slow-1", service: "slow", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
      await waitFor("the reload command to run", async () => (await listProcs()).some((p) => p.command.includes(marker)));
      const t0 = Date.now();
      agent.child.kill("SIGTERM");
      const r = await pending;
      assert.equal(r.ok, false);
      assert.match(r.reason, /interrupted by agent shutdown \(shutdown_timeout 1000 ms\)/);
      assert.equal(await agent.exited(), 0);
      assert.ok(Date.now() - t0 < 10_000, `exit took ${Date.now() - t0} ms`);
      assert.match(agent.output(), /"msg":"in-flight work interrupted at the shutdown deadline","interrupted":\["reload slow"\]/);
      assert.deepEqual((await listProcs()).filter((p) => p.command.includes(marker)), [], "the reload command's group was killed");
    } finally {
      client.close();
      agent.child.kill("SIGKILL");
    }
  });
});

describe("TLS certificate replaced on SIGHUP", { skip: existsSync("/usr/bin/openssl") ? undefined : "openssl not installed" }, () => {
  const scratch = scratchDir();
  const pki = path.join(scratch.dir, "pki");
  before(async () => {
    await initCa(pki);
  });
  after(() => scratch.remove());

  /** The certificate the agent presents to a new TLS connection. */
  const presented = (port: number, client: { cert: Buffer; key: Buffer; ca: Buffer }) =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port, ...client, ALPNProtocols: ["h2"], servername: undefined, checkServerIdentity: () => undefined }, () => {
        resolve(s.getPeerX509Certificate()!.fingerprint256);
        s.destroy();
      });
      s.once("error", reject);
    });

  test("new connections see the new certificate; calls keep working", async () => {
    const first = await issueCert(pki, "agent", "127.0.0.1");
    const firstPem = { cert: readFileSync(first.cert), key: readFileSync(first.key) };
    const op = await issueCert(pki, "operator", "ops");
    const ca = readFileSync(path.join(pki, "ca.crt"));
    const clientCreds = { cert: readFileSync(op.cert), key: readFileSync(op.key), ca };
    const [certFile, keyFile] = [path.join(scratch.dir, "agent.crt"), path.join(scratch.dir, "agent.key")];
    writeFileSync(certFile, firstPem.cert);
    writeFileSync(keyFile, firstPem.key);
    const conf = path.join(scratch.dir, "agent.yaml");
    const yaml = `listen: 127.0.0.1:0\ntls: { cert: ${certFile}, key: ${keyFile}, ca: ${path.join(pki, "ca.crt")} }\nstate_dir: ${scratch.dir}/state\nservices:\n  a:\n    reload: { systemd: a.service }\n`;
    writeFileSync(conf, yaml);
    const agent = await spawnAgent(conf);
    const port = Number(agent.address.split(":").pop());
    const client = createAgentClient(agent.address, { tls: clientCreds });
    try {
      assert.equal(await presented(port, clientCreds), new X509Certificate(firstPem.cert).fingerprint256);
      // A new key and certificate for the same name, as a renewal writes them.
      const renewed = await issueCert(pki, "agent", "127.0.0.1");
      writeFileSync(certFile, readFileSync(renewed.cert));
      writeFileSync(keyFile, readFileSync(renewed.key));
      agent.child.kill("SIGHUP");
      await waitFor("the reload", () => agent.output().includes('"msg":"config reloaded"'));
      assert.equal(await presented(port, clientCreds), new X509Certificate(readFileSync(certFile)).fingerprint256);
      assert.equal((await client.describe()).services.length, 1);
      const fresh = createAgentClient(agent.address, { tls: clientCreds });
      assert.equal((await fresh.describe()).services.length, 1);
      fresh.close();
    } finally {
      client.close();
      agent.child.kill("SIGTERM");
      await agent.exited();
    }
  });
});

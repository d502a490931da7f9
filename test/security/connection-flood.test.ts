// Hostile connections against a real agent process: thousands that never send
// the HTTP/2 preface and dozens that send garbage frames must not lock out a
// legitimate client or leak descriptors; hundreds of concurrent Status calls
// must all be answered without lasting memory growth. The unix socket's mode
// is what the config says, whatever the umask.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createAgentClient, type AgentClient } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { startAgent } from "../helpers/agent-harness.js";
import { spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";
import { waitFor } from "../helpers/wait-for.js";

const TOKEN = "flood-token-0123456789abcdef";
const SILENT = 2000;
const GARBAGE = 50;
/** The flood comes from another loopback address: limits are per source address. */
const FLOOD_FROM = "127.0.0.2";
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

const fdsOf = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssMbOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

describe("connection hygiene of a real agent", () => {
  const scratch = scratchDir();
  let web: WebService;
  let agent: AgentProcess;
  let client: AgentClient;
  let port: number;
  let n = 0;
  const reload = (c: AgentClient) => c.reload({ requestId: `legit-${++n}`, service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });

  before(async () => {
    web = await startWebService(scratch.dir, "web");
    writeFileSync(path.join(scratch.dir, "agent.token"), TOKEN + "\n");
    const conf = path.join(scratch.dir, "agent.yaml");
    writeFileSync(conf, `listen: 127.0.0.1:0
auth: { token_file: ${scratch.dir}/agent.token }
state_dir: ${scratch.dir}/state
limits: { handshake_timeout: 3s, mutations_per_second: 1000 }
services:
  web:
    reload: { signal: HUP, pidfile: ${web.pidfile} }
    generation: { http: "http://127.0.0.1:${web.port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${web.port}/healthz" }]
    configs: [{ path: ${web.configFile} }]
`);
    agent = await spawnAgent(conf);
    port = Number(agent.address.split(":").pop());
    client = createAgentClient(agent.address, { token: TOKEN, deadlineMs: 20_000 });
  });
  after(async () => {
    client?.close();
    if (agent) {
      agent.child.kill("SIGTERM");
      await agent.exited();
    }
    await web?.stop();
    scratch.remove();
  });

  /** Opens a connection from FLOOD_FROM; `send` is written once connected. It is kept open until destroyed. */
  const open = (send?: Buffer) =>
    new Promise<net.Socket>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port, localAddress: FLOOD_FROM });
      s.on("error", () => undefined);
      // Reading, so that a close by the agent is seen.
      s.resume();
      s.once("connect", () => {
        if (send) s.write(send);
        resolve(s);
      });
      s.once("close", () => resolve(s));
    });

  test(`${SILENT} connections without a preface and ${GARBAGE} sending garbage frames: a legitimate Reload succeeds, descriptors come back`, async () => {
    await client.describe();
    const pid = agent.child.pid!;
    const baseline = fdsOf(pid);
    const sockets: net.Socket[] = [];
    let peak = baseline;
    const sample = setInterval(() => (peak = Math.max(peak, fdsOf(pid))), 50);
    let legit: AgentClient | undefined;
    try {
      for (let i = 0; i < SILENT; i += 100) {
        sockets.push(...(await Promise.all(Array.from({ length: 100 }, () => open()))));
        if (i === 1000) {
          // Half-way through: a client that connects now, and one that was connected before, both reload.
          legit = createAgentClient(agent.address, { token: TOKEN, deadlineMs: 20_000 });
          const [fresh, old] = await Promise.all([reload(legit), reload(client)]);
          assert.equal(outcomeToWord(fresh.outcome), "reloaded", fresh.reason);
          assert.equal(outcomeToWord(old.outcome), "reloaded", old.reason);
        }
      }
      const garbage = () => Buffer.concat([PREFACE, Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), Buffer.from([0xff, 0xff, 0xff, 0x99, 0xff, 0x7f, 0xff, 0xff, 0xff]), randomBytes(256)]);
      sockets.push(...(await Promise.all(Array.from({ length: GARBAGE }, () => open(garbage())))));
      const during = await reload(client);
      assert.equal(outcomeToWord(during.outcome), "reloaded", during.reason);
      assert.equal(agent.child.exitCode, null, "agent alive");
    } finally {
      clearInterval(sample);
      legit?.close();
    }
    const stillOpen = sockets.filter((s) => !s.destroyed).length;
    for (const s of sockets) s.destroy();
    const t0 = Date.now();
    const settled = await waitFor("the agent's descriptors to return near baseline", () => fdsOf(pid) <= baseline + 20, 30_000, 200);
    const back = fdsOf(pid);
    console.log(`# fds: baseline ${baseline}, peak ${peak} during the flood, ${back} ${Date.now() - t0} ms after the clients left; ${stillOpen} of ${sockets.length} flood sockets were still open at the end`);
    assert.ok(settled);
    assert.ok(peak < baseline + 200, `the agent held ${peak - baseline} extra descriptors at the peak`);
    assert.equal(outcomeToWord((await reload(client)).outcome), "reloaded");
  });

  test("a connection that sends nothing is closed after handshake_timeout", async () => {
    const s = await open();
    const t0 = Date.now();
    await new Promise((resolve) => s.once("close", resolve));
    const ms = Date.now() - t0;
    assert.ok(ms >= 2500 && ms < 10_000, `closed after ${ms} ms`);
  });

  test("200 concurrent Status calls are all answered and RSS returns near its baseline", async () => {
    const pid = agent.child.pid!;
    for (let i = 0; i < 20; i++) await client.status();
    const baseline = rssMbOf(pid);
    const t0 = performance.now();
    let peak = baseline;
    const sample = setInterval(() => (peak = Math.max(peak, rssMbOf(pid))), 50);
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => client.status()));
    clearInterval(sample);
    const ms = Math.round(performance.now() - t0);
    const answered = results.filter((r) => r.status === "fulfilled" && r.value.services.length === 1).length;
    const failures = results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
    assert.equal(answered, 200, failures.slice(0, 3).join("\n"));
    await waitFor("RSS to return within 30 MB of its baseline", () => rssMbOf(pid) <= baseline + 30, 30_000, 250);
    console.log(`# 200 concurrent Status: all answered in ${ms} ms; RSS baseline ${baseline.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, after ${rssMbOf(pid).toFixed(1)} MB`);
  });
});

describe("unix socket mode", () => {
  test("the socket gets exactly socket_mode (default 0600), whatever the umask", async () => {
    const scratch = scratchDir();
    const umask = process.umask(0);
    try {
      for (const [mode, expected] of [[undefined, 0o600], ["0660", 0o660]] as const) {
        const sock = path.join(scratch.dir, `agent-${expected.toString(8)}.sock`);
        const agent = await startAgent(`listen: unix:${sock}\n${mode ? `socket_mode: "${mode}"\n` : ""}insecure: true\nservices:\n  a:\n    reload: { systemd: a.service }\n`);
        try {
          const st = statSync(sock);
          assert.ok(st.isSocket());
          assert.equal(st.mode & 0o777, expected, `mode ${(st.mode & 0o777).toString(8)}`);
          assert.equal((await agent.client.describe()).services.length, 1);
        } finally {
          await agent.stop();
        }
      }
    } finally {
      process.umask(umask);
      scratch.remove();
    }
  });
});

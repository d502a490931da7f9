// An unauthenticated peer cannot make the agent buffer request bodies: calls are authenticated as
// their headers arrive, before grpc-js reads a byte of the message. (Before, 8 connections x 16
// streams x 4 MiB of a never-finished message cost ~530 MB; the default limits allowed ~8 GB.)
import assert from "node:assert/strict";
import http2 from "node:http2";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { spawnAgent } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

test("unauthenticated peers cannot make the agent buffer hundreds of MB of request bodies", async () => {
  const scratch = scratchDir();
  const token = "preauth-token-0123456789abcdef0123";
  writeFileSync(path.join(scratch.dir, "agent.token"), token + "\n");
  const conf = path.join(scratch.dir, "agent.yaml");
  writeFileSync(conf, `listen: 127.0.0.1:0\nauth: { token_file: ${scratch.dir}/agent.token }\nstate_dir: ${scratch.dir}/state\nservices:\n  x:\n    reload: { signal: HUP, pidfile: ${scratch.dir}/none.pid }\n`);
  const agent = await spawnAgent(conf);
  const pid = agent.child.pid!;
  const port = Number(agent.address.split(":").pop());
  const sessions: http2.ClientHttp2Session[] = [];
  try {
    const base = rssMb(pid);
    const SIZE = 4 * 1024 * 1024 - 64;
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let c = 0; c < 8; c++) {
      // Node passes connect options through to net.connect; its http2 types do not list localAddress.
      const s = http2.connect(`http://127.0.0.1:${port}`, { localAddress: `127.0.0.${2 + c}` } as http2.ClientSessionOptions);
      s.on("error", () => undefined);
      sessions.push(s);
      for (let i = 0; i < 16; i++) {
        const st = s.request({ ":method": "POST", ":path": "/fleet.agent.v1.AgentService/Status", "content-type": "application/grpc", te: "trailers" });
        st.on("error", () => undefined);
        st.resume();
        const hdr = Buffer.alloc(5);
        hdr.writeUInt32BE(SIZE + 32, 1);
        st.write(hdr);
        let sent = 0;
        const pump = () => {
          while (sent < SIZE) {
            sent += chunk.length;
            if (!st.write(chunk)) return void st.once("drain", pump);
          }
        };
        pump();
      }
    }
    let peak = base;
    for (let t = 0; t < 8; t++) {
      await new Promise((r) => setTimeout(r, 500));
      peak = Math.max(peak, rssMb(pid));
    }
    assert.ok(peak - base < 150, `RSS grew from ${base.toFixed(0)} MB to ${peak.toFixed(0)} MB on request bodies of unauthenticated peers`);
  } finally {
    for (const s of sessions) s.destroy();
    agent.child.kill("SIGKILL");
    await agent.exited();
    scratch.remove();
  }
});

// A PID file holding the TID of one of the agent's own threads: kill(2) on a TID signals the whole
// thread group (the agent), and with signal: USR1 Node would open its inspector on 127.0.0.1:9229
// (root code execution for whoever can write the PID file). The agent refuses any thread id.
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createAgentClient } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { spawnAgent } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";

test("a PID file naming a thread of the agent itself is refused and nothing is signalled", async () => {
  const scratch = scratchDir();
  const pidfile = path.join(scratch.dir, "victim.pid");
  const conf = path.join(scratch.dir, "agent.yaml");
  writeFileSync(conf, `listen: 127.0.0.1:0\ninsecure: true\nstate_dir: ${scratch.dir}/state\nservices:\n  victim:\n    reload: { signal: USR1, pidfile: ${pidfile} }\n    generation: none\n`);
  const agent = await spawnAgent(conf);
  const client = createAgentClient(agent.address);
  try {
    const pid = agent.child.pid!;
    const tid = readdirSync(`/proc/${pid}/task`).map(Number).find((t) => t !== pid);
    assert.ok(tid, "the agent has more than one thread");
    writeFileSync(pidfile, `${tid}\n`);
    const r = await client.reload({ requestId: "tid-1", service: "victim", allowRestart: false, generationTimeoutMs: 500, healthyForMs: 0 });
    await new Promise((res) => setTimeout(res, 500));
    assert.doesNotMatch(agent.output(), /Debugger listening/, "the agent signalled itself (through a TID) and opened its inspector");
    assert.equal(outcomeToWord(r.outcome), "refused", r.reason);
    assert.equal(r.evidence?.signalled ?? false, false);
  } finally {
    client.close();
    agent.child.kill("SIGKILL");
    await agent.exited();
    scratch.remove();
  }
});

// CLI cold start: wall-clock time of `fleet --help` and of `fleet history`
// against a local controller daemon (unix socket, 20 rollouts recorded), each a
// fresh process, as an operator runs them. Also `node -e 0` for the floor.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";
import { FLEET_BIN } from "../helpers/built-bins.js";
import { startControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { timeStats } from "./bench-support.js";

/** Runs the command `runs` times (after one unmeasured run); every run must exit 0. */
function coldStarts(cmd: string, args: string[], runs: number, env: Record<string, string> = {}) {
  const samples: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t = performance.now();
    const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: "utf8", timeout: 30_000 });
    const ms = performance.now() - t;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    if (i > 0) samples.push(ms);
  }
  return timeStats(samples);
}

export async function benchCliStart(runs = 20) {
  const scratch = scratchDir("fleet-bench-cli-");
  const file = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [127.0.0.1:1]\n`);
  const store = new SqliteHistoryStore(path.join(scratch.dir, "history.db"));
  for (let i = 0; i < 20; i++) {
    const r = store.createRollout({ kind: "reload", group: "web", service: "web", reason: "bench", requestedBy: "bench", requestedFrom: "bench", policy: "{}", allowRestart: false, steps: [{ host: "127.0.0.1:1", batch: 0, canary: false }] }, Date.now());
    store.finishRollout(r.id, "succeeded", "bench", Date.now());
  }
  store.close();
  const daemon = await startControllerDaemon(file);
  try {
    const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
    return {
      runs,
      nodeFloor: coldStarts(process.execPath, ["-e", "0"], runs),
      help: coldStarts(FLEET_BIN, ["--help"], runs),
      history: coldStarts(FLEET_BIN, ["history"], runs, env),
    };
  } finally {
    await daemon.stop();
    scratch.remove();
  }
}

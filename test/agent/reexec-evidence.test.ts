// A daemon that re-executes itself on SIGHUP keeps its PID and start time (haproxy's master on
// reload, sshd on SIGHUP): the evidence shows its command line as it was before the signal
// (mainBefore) and after it (mainAfter). A real process, the real signal driver and /proc.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import type { ServiceConfig } from "../../agent/config/agent-config.js";
import { signalDriver } from "../../agent/drivers/signal-driver.js";
import { processGroupRunner } from "../../agent/process/command-runner.js";
import { performReload } from "../../agent/reload/perform-reload.js";
import { serviceConfig } from "../helpers/service-config.js";

const python = spawnSync("python3", ["-c", "1"]).status === 0;
const dir = mkdtempSync(path.join(os.tmpdir(), "fleet-reexec-"));
let child: ChildProcess | undefined;
after(() => {
  if (child?.pid) try { process.kill(child.pid, "SIGKILL"); } catch {}
  rmSync(dir, { recursive: true, force: true });
});

// Generation 0 writes its pidfile; on SIGHUP it re-execs itself as generation N+1 (same pid), then waits.
const SCRIPT = `
import os, sys, signal, time
signal.alarm(30)
gen = int(sys.argv[2])
pidfile = sys.argv[1]
if gen == 0:
    open(pidfile, "w").write(str(os.getpid()))
def hup(*_):
    os.execv(sys.executable, [sys.executable, __file__, pidfile, str(gen + 1), "--reexecuted-generation-" + str(gen + 1)])
signal.signal(signal.SIGHUP, hup)
open(pidfile + ".ready." + str(gen), "w").close()
while True: time.sleep(1)
`;

test("a daemon that re-execs itself on SIGHUP: mainBefore shows its command line before the signal, mainAfter after", { timeout: 20_000, skip: python ? undefined : "python3 is not installed" }, async () => {
  const script = path.join(dir, "reexec.py");
  writeFileSync(script, SCRIPT);
  const pidfile = path.join(dir, "d.pid");
  child = spawn("python3", [script, pidfile, "0"], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    try { readFileSync(`${pidfile}.ready.0`); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  const svc = serviceConfig({
    name: "reexec",
    reload: { method: "signal", signal: "HUP", target: { kind: "pidfile", path: pidfile } },
    generation: { kind: "none" },
    timeouts: { generationMs: 1000, healthyForMs: 500, probeIntervalMs: 100, commandMs: 5000 },
  });
  const driver = signalDriver(svc.reload as Extract<ServiceConfig["reload"], { method: "signal" }>, { runner: processGroupRunner, systemd: undefined as never });
  const r = await performReload(svc, driver, processGroupRunner, { allowRestart: false });
  assert.equal(r.evidence.signalled, true, r.reason);
  for (let i = 0; i < 100; i++) {
    try { readFileSync(`${pidfile}.ready.1`); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  const now = readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  assert.match(now, /--reexecuted-generation-1/);
  assert.equal(r.evidence.mainAfter?.pid, child.pid);
  assert.doesNotMatch(r.evidence.mainBefore?.command ?? "", /--reexecuted/, "mainBefore is the command line from before the signal");
  assert.match(r.evidence.mainAfter?.command ?? "", /--reexecuted-generation-1/, "mainAfter is the command line from after the re-exec");
});

// The agent is root: a PID file must never make it signal the wrong process.
// Real processes throughout; every stranger handles SIGHUP by writing a file,
// so "no file" proves no signal landed.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import inspector from "node:inspector";
import { connect } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { outcomeToWord } from "../../common/outcome-words.js";
import { freePort } from "../../common/free-port.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const notRoot = process.getuid?.() === 0 ? undefined : "needs root to start processes as another user (CI runs as root)";
const REDIS = "/usr/bin/redis-server";
if (notRoot) console.log(`# skipping target identity tests: ${notRoot}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

/** A shell that writes a line to `got` on every SIGHUP, as `uid`. */
async function trapper(got: string, uid = 0): Promise<ChildProcess> {
  const child = spawn("/bin/sh", ["-c", `trap 'echo hup >> ${got}' HUP; while :; do sleep 0.1; done`], { stdio: "ignore", uid, gid: uid });
  await waitFor("the shell to trap SIGHUP", async () => /^SigCgt:\s*[0-9a-f]*[13579bdf]$/m.test(await readFile(`/proc/${child.pid}/status`, "utf8")));
  return child;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port, timeout: 1000 });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
    s.once("timeout", () => (s.destroy(), resolve(false)));
  });
}

describe("target identity against real processes", { skip: notRoot }, () => {
  const scratch = scratchDir();
  const file = (name: string) => path.join(scratch.dir, name);
  const children: ChildProcess[] = [];
  let agent: AgentHarness;
  let stranger: ChildProcess, noHandler: ChildProcess, rootTrapper: ChildProcess, redis: ChildProcess | undefined;
  let redisPort = 0;
  let n = 0;
  const reload = (service: string) => agent.client.reload({ requestId: `ti-${++n}`, service, allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });

  before(async () => {
    chmodSync(scratch.dir, 0o755);
    for (const f of ["stranger-got", "root-got"]) {
      writeFileSync(file(f), "");
      chmodSync(file(f), 0o666);
    }
    writeFileSync(file("self.pid"), `${process.pid}\n`);
    writeFileSync(file("parent.pid"), `${process.ppid}\n`);
    writeFileSync(file("init.pid"), "1\n");
    writeFileSync(file("hex.pid"), "0x1f\n");
    writeFileSync(file("kthread.pid"), "2\n");

    // The stranger's PID file was written by a daemon long gone; the stranger started after it.
    writeFileSync(file("stranger.pid"), "placeholder\n");
    const writtenAt = statSync(file("stranger.pid")).mtime;
    await sleep(1500);
    stranger = await trapper(file("stranger-got"), 65534);
    children.push(stranger);
    writeFileSync(file("stranger.pid"), `${stranger.pid}\n`);
    utimesSync(file("stranger.pid"), writtenAt, writtenAt);

    noHandler = spawn("/bin/sleep", ["300"], { stdio: "ignore" });
    children.push(noHandler);
    writeFileSync(file("sleep.pid"), `${noHandler.pid}\n`);
    rootTrapper = await trapper(file("root-got"));
    children.push(rootTrapper);
    writeFileSync(file("trapper.pid"), `${rootTrapper.pid}\n`);

    if (existsSync(REDIS)) {
      redisPort = await freePort();
      redis = spawn(REDIS, ["--port", String(redisPort), "--bind", "127.0.0.1", "--pidfile", file("redis.pid"), "--save", "", "--appendonly", "no", "--dir", scratch.dir], { stdio: "ignore" });
      children.push(redis);
      await waitFor("redis to write its pidfile", () => existsSync(file("redis.pid")) && readFileSync(file("redis.pid"), "utf8").trim() === String(redis!.pid));
    }

    const svc = (name: string, signal: string, pidfile: string, extra = "") => `  ${name}:\n    reload: { signal: ${signal}, pidfile: ${file(pidfile)} }\n    generation_timeout: 300ms\n    healthy_for: 50ms\n${extra}`;
    agent = await startAgent(`
listen: 127.0.0.1:0
insecure: true
services:
${svc("self", "USR1", "self.pid")}
${svc("parent", "HUP", "parent.pid")}
${svc("init", "HUP", "init.pid")}
${svc("stranger", "HUP", "stranger.pid", "    generation: none\n")}
${svc("hex", "HUP", "hex.pid")}
${svc("kthread", "HUP", "kthread.pid")}
${svc("nohandler", "HUP", "sleep.pid")}
${svc("redis", "HUP", "redis.pid", `    health: [{ tcp: "127.0.0.1:${redisPort || 1}" }]\n`)}
${svc("expect-nginx", "HUP", "trapper.pid", "    expect: { exe: /usr/sbin/nginx, user: root }\n")}
${svc("expect-user", "HUP", "trapper.pid", "    expect: { user: www-data }\n")}
${svc("trapper", "HUP", "trapper.pid", "    expect: { exe: /usr/bin/dash, user: root }\n")}
`);
  });
  after(async () => {
    await agent?.stop();
    for (const c of children) c.kill("SIGKILL");
    scratch.remove();
  });

  test("a PID file naming the agent itself is refused with USR1: no inspector opens", async () => {
    assert.equal(await portOpen(9229), false, "nothing listens on 9229 before");
    const r = await reload("self");
    assert.equal(outcomeToWord(r.outcome), "refused", r.reason);
    assert.match(r.reason, new RegExp(`pid ${process.pid} is the fleet agent itself; nothing was signalled`));
    assert.equal(r.evidence!.signalled, false);
    await sleep(300);
    assert.equal(inspector.url(), undefined, "the agent's inspector is closed");
    assert.equal(await portOpen(9229), false, "no inspector port opened");
  });

  test("the agent's parent and PID 1 are refused", async () => {
    const p = await reload("parent");
    assert.equal(outcomeToWord(p.outcome), "refused", p.reason);
    assert.match(p.reason, /is the fleet agent's parent/);
    const r = await reload("init");
    assert.equal(outcomeToWord(r.outcome), "refused", r.reason);
    assert.match(r.reason, /pid 1 is init/);
    assert.equal(r.evidence!.signalled, false);
  });

  test("a younger process owned by another user behind an old PID file is not_running (stale), and untouched", async () => {
    const r = await reload("stranger");
    assert.equal(outcomeToWord(r.outcome), "not_running", r.reason);
    assert.match(r.reason, new RegExp(`stale pidfile .*stranger\\.pid: it was written at .* but pid ${stranger.pid} .* started later`));
    assert.equal(r.evidence!.signalled, false);
    await sleep(300);
    assert.ok(alive(stranger), "the stranger is alive");
    assert.equal(readFileSync(file("stranger-got"), "utf8"), "", "the stranger received no SIGHUP");

    // Control: once the file is (re)written after the process started, it is the target; the signal lands.
    writeFileSync(file("stranger.pid"), `${stranger.pid}\n`);
    const now = await reload("stranger");
    assert.equal(now.evidence!.signalled, true, now.reason);
    await waitFor("the stranger to get SIGHUP", () => readFileSync(file("stranger-got"), "utf8").includes("hup"));
    assert.equal(outcomeToWord(now.outcome), "unverified", "no generation evidence: delivered but unproven");
    assert.equal(now.ok, false);
  });

  test("a PID file naming a kernel thread is refused", { skip: /\(kthreadd\)/.test(readFileSync("/proc/2/stat", "utf8")) ? undefined : "pid 2 is not kthreadd here (a PID namespace)" }, async () => {
    const r = await reload("kthread");
    assert.equal(outcomeToWord(r.outcome), "refused", r.reason);
    assert.match(r.reason, /pid 2 \(kthreadd\) is a kernel thread; nothing was signalled/);
  });

  test("a PID file holding 0x1f is not a PID: failed, nothing signalled", async () => {
    const r = await reload("hex");
    assert.equal(outcomeToWord(r.outcome), "failed", r.reason);
    assert.match(r.reason, /does not hold a decimal pid \(it holds "0x1f"\); nothing was signalled/);
    assert.equal(r.evidence!.signalled, false);
    assert.equal(r.evidence!.action, "");
  });

  test("a daemon with no handler for the signal is refused and keeps running", async () => {
    const r = await reload("nohandler");
    assert.equal(outcomeToWord(r.outcome), "refused", r.reason);
    assert.match(r.reason, new RegExp(`SIGHUP would terminate pid ${noHandler.pid}`));
    assert.equal(r.evidence!.signalled, false);
    await sleep(200);
    assert.ok(alive(noHandler), "sleep is alive: SIGHUP would have killed it");
  });

  test("redis under its own pidfile ignores SIGHUP: refused, still running", { skip: existsSync(REDIS) ? undefined : `${REDIS} not installed` }, async () => {
    const r = await reload("redis");
    assert.equal(outcomeToWord(r.outcome), "refused", r.reason);
    assert.match(r.reason, new RegExp(`pid ${redis!.pid} ignores SIGHUP: it cannot reload by signal`));
    assert.equal(r.evidence!.signalled, false);
    assert.ok(alive(redis!));
    assert.ok(await portOpen(redisPort), "redis still serves");
  });

  test("expect: a process that is not the declared executable or user is refused; a match goes ahead", async () => {
    const exe = await reload("expect-nginx");
    assert.equal(outcomeToWord(exe.outcome), "refused", exe.reason);
    assert.match(exe.reason, /runs \/usr\/bin\/dash, but the service declares expect\.exe \/usr\/sbin\/nginx/);
    const user = await reload("expect-user");
    assert.equal(outcomeToWord(user.outcome), "refused", user.reason);
    assert.match(user.reason, /runs as root \(uid 0\), but the service declares expect\.user www-data/);
    assert.equal(readFileSync(file("root-got"), "utf8"), "", "nothing was signalled");

    const ok = await reload("trapper");
    assert.equal(ok.evidence!.signalled, true, ok.reason);
    await waitFor("the trapper to get SIGHUP", () => readFileSync(file("root-got"), "utf8").includes("hup"));
  });
});

// Pure parts of target identity and evidence: PID file text, start times,
// signal masks, systemd and journal output, config fields.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fakeHostFacts } from "../../agent/config/fake-host-facts.js";
import { parseAgentConfig } from "../../agent/config/parse-agent-config.js";
import { parsePidText, signalRefusal, staleReason, targetVerdict } from "../../agent/drivers/target-identity.js";
import { parseStatus, procFsInspector, startedAtMs } from "../../agent/process/process-inspector.js";
import { describeExec } from "../../agent/process/systemd-client.js";
import { parseJournalJson } from "../../agent/verify/journal-tail.js";
import { evidenceStrength } from "../../controller/server/evidence-strength.js";
import { applyPolicyText, DEFAULT_POLICY } from "../../controller/rollout/rollout-policy.js";

test("a PID file holds plain decimal only", () => {
  for (const [text, pid] of [
    ["1234\n", 1234],
    ["  77  \n", 77],
    ["1\n", 1],
    ["0x1f", undefined],
    ["0x203a\n", undefined],
    ["1e3", undefined],
    ["-5", undefined],
    ["+5", undefined],
    ["0", undefined],
    ["012", undefined],
    ["12 34", undefined],
    ["12\n34\n", undefined],
    ["", undefined],
    ["99999999", undefined],
    ["4194305", undefined],
    ["١٢٣", undefined],
  ] as const) {
    assert.equal(parsePidText(text), pid, JSON.stringify(text));
  }
});

test("signal disposition from SigCgt/SigIgn: ignored, not caught (terminates or is discarded), caught", () => {
  const p = (caught: bigint, ignored: bigint) => ({ pid: 7, caught, ignored });
  assert.equal(signalRefusal(p(1n, 0n), "HUP"), undefined);
  assert.equal(signalRefusal(p(0n, 1n), "HUP"), "pid 7 ignores SIGHUP: it cannot reload by signal");
  assert.match(signalRefusal(p(0n, 0n), "HUP")!, /^SIGHUP would terminate pid 7/);
  assert.equal(signalRefusal(p(1n << 9n, 0n), "USR1"), undefined, "SIGUSR1 is signal 10: bit 9");
  assert.match(signalRefusal(p(1n << 9n, 0n), "USR2")!, /SIGUSR2 would terminate/);
  assert.match(signalRefusal(p(0n, 0n), "WINCH")!, /no handler for SIGWINCH: the signal would be discarded/);
  const status = "Name:\tnginx\nTgid:\t812\nUid:\t0\t33\t0\t33\nSigIgn:\t0000000000001000\nSigCgt:\t0000000198016a07\n";
  assert.deepEqual(parseStatus(status), { tgid: 812, uid: 33, caught: 0x198016a07n, ignored: 0x1000n });
  assert.equal(parseStatus("Uid:\t0\t0\t0\t0\n"), undefined);
});

test("a process started after its PID file was written is stale; one started before is not", () => {
  const p = { pid: 9, tgid: 9, ppid: 1, startTime: 1, startedAtMs: 10_000, uid: 0, state: "S", command: "x", exe: "", kernelThread: false, caught: 0n, ignored: 0n };
  assert.equal(staleReason(p, "/run/x.pid", 10_000), undefined);
  assert.equal(staleReason(p, "/run/x.pid", 9_500), undefined, "within a second: clock granularity");
  assert.match(staleReason(p, "/run/x.pid", 5_000)!, /^stale pidfile \/run\/x\.pid: .* pid 9 .* started later/);
});

test("wall-clock start of a real process, from /proc starttime and uptime, is within a tick or two of its spawn", async () => {
  assert.equal(startedAtMs(100, 50, 1_000_000), 1_000_000 - 50_000 + 1000);
  const before = Date.now();
  const child = spawn("/bin/sleep", ["5"], { stdio: "ignore" });
  try {
    const facts = await procFsInspector.inspect(child.pid!);
    assert.ok(facts, "the child is visible");
    assert.ok(Math.abs(facts.startedAtMs - before) < 1000, `start ${facts.startedAtMs} vs spawn ${before}`);
    assert.equal(facts.exe, "/usr/bin/sleep");
    assert.equal(facts.kernelThread, false);
    assert.equal(facts.caught & 1n, 0n, "sleep does not catch SIGHUP");
    assert.equal(facts.tgid, child.pid, "a process is its own thread group");
  } finally {
    child.kill("SIGKILL");
  }
  const kthread = await procFsInspector.inspect(2);
  if (kthread) assert.equal(kthread.kernelThread, true, "pid 2 is kthreadd");
});

test("systemd's ExecReload= record and journalctl's JSON are read", () => {
  assert.equal(describeExec("{ path=/bin/sh ; argv[]=/bin/sh -c echo x; exit 1 ; ignore_errors=no ; pid=77 ; code=exited ; status=1 }"), "/bin/sh exited with status 1");
  assert.equal(describeExec("{ path=/bin/kill ; argv[]=/bin/kill -HUP $MAINPID ; pid=0 ; code=(null) ; status=0/0 }"), "/bin/kill (not run yet)");
  assert.equal(describeExec(""), "");
  const lines = [
    JSON.stringify({ __CURSOR: "a", _SOURCE_REALTIME_TIMESTAMP: "1700000000000001", __REALTIME_TIMESTAMP: "1700000000000099", _SYSTEMD_UNIT: "x.service", MESSAGE: "hello" }),
    "not json",
    JSON.stringify({ __CURSOR: "b", __REALTIME_TIMESTAMP: "1700000000000002", _SYSTEMD_UNIT: "init.scope", MESSAGE: [104, 105] }),
  ].join("\n");
  assert.deepEqual(parseJournalJson(lines), [
    { cursor: "a", atUs: 1700000000000001, unit: "x.service", message: "hello" },
    { cursor: "b", atUs: 1700000000000002, unit: "init.scope", message: "hi" },
  ]);
});

test("evidence strength from stored evidence", () => {
  assert.equal(evidenceStrength(""), "");
  assert.equal(evidenceStrength(JSON.stringify({ signalled: true, generation: { source: "none" } })), "none (unverified)");
  assert.equal(evidenceStrength(JSON.stringify({ signalled: true, generation: { source: "workers", observed: true } })), "workers observed");
  assert.equal(evidenceStrength(JSON.stringify({ signalled: false, generation: { source: "http" } })), "not sent");
  assert.equal(evidenceStrength(JSON.stringify({ change: "CONFIG_CHANGE_INSTALLED", reload: { signalled: true, generation: { source: "journal", observed: false } } })), "journal not observed");
});

test("config: expect, journal generation and journal reject markers, with clear errors", () => {
  const parse = (svc: object) => parseAgentConfig({ insecure: true, services: { s: svc } }, fakeHostFacts());
  const ok = parse({ reload: { systemd: "app" }, expect: { exe: "/usr/sbin/app", user: "www-data" }, generation: { journal: "loaded gen \\d+" }, reject_markers: { journal: true, pattern: "\\[emerg\\]" } });
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.problems));
  const s = ok.value.services.get("s")!;
  assert.deepEqual(s.expect, { exe: "/usr/sbin/app", user: "www-data" });
  assert.equal(s.generation.kind === "journal" && s.generation.unit, "app.service");
  assert.equal(s.rejectMarkers?.source === "journal" && s.rejectMarkers.unit, "app.service");

  const problems = (svc: object) => {
    const r = parse(svc);
    assert.equal(r.ok, false);
    return (r.ok ? [] : r.problems).map((p) => `${p.path.join(".")}: ${p.message}`).join("\n");
  };
  assert.match(problems({ reload: { signal: "HUP", pidfile: "/run/x.pid" }, generation: { journal: "x" } }), /services\.s\.generation\.journal: journal: true needs the service's systemd unit/);
  assert.match(problems({ reload: { signal: "HUP", pidfile: "/run/x.pid" }, reject_markers: { journal: true, pattern: "x" } }), /services\.s\.reject_markers\.journal: journal: true needs/);
  assert.match(problems({ reload: { systemd: "a" }, reject_markers: { journal: true, log: "/x", pattern: "x" } }), /reject_markers\.journal: conflicts with log/);
  assert.match(problems({ reload: { systemd: "a" }, reject_markers: { pattern: "x" } }), /reject_markers: must name where rejection lines appear/);
  assert.match(problems({ reload: { systemd: "a" }, expect: { exe: "nginx" } }), /expect\.exe: must be an absolute path/);
  assert.match(problems({ reload: { systemd: "a" }, expect: {} }), /expect: declares nothing/);
  assert.match(problems({ reload: { systemd: "a" }, expect: { path: "/x" } }), /expect\.path: unknown field/);
  const other = parse({ reload: { signal: "HUP", pidfile: "/run/x.pid" }, generation: { journal: "x", unit: "other" } });
  assert.ok(other.ok && other.value.services.get("s")!.generation.kind === "journal");
});

test("policy accept_unverified: true/false only", () => {
  assert.equal(applyPolicyText(DEFAULT_POLICY, {}, (f) => f).policy.acceptUnverified, false);
  assert.equal(applyPolicyText(DEFAULT_POLICY, { accept_unverified: "true" }, (f) => f).policy.acceptUnverified, true);
  assert.deepEqual(applyPolicyText(DEFAULT_POLICY, { accept_unverified: "yes" }, (f) => `--${f}`).problems, ['--accept_unverified: must be true or false, got "yes"']);
});

test("a thread id is never a target; expect.exe is a path in the agent's mount namespace and the very file elsewhere", () => {
  const base = { pid: 40, tgid: 40, ppid: 1, startTime: 1, startedAtMs: 0, uid: 0, state: "S", command: "nginx: master", exe: "/usr/sbin/nginx", exeId: "8:1:77", mntNs: "mnt:[1]", kernelThread: false, caught: 1n, ignored: 0n };
  const ctx = { selfPid: 10, parentPid: 1, selfMntNs: "mnt:[1]", expect: { exe: "/usr/sbin/nginx" }, expectExeId: "8:1:77", signal: "HUP" as const, userName: () => "root" };
  assert.equal(targetVerdict(base, ctx), undefined);
  assert.match(targetVerdict({ ...base, tgid: 10 }, ctx)!.reason, /pid 40 is a thread of process 10, not a process; nothing was signalled/);
  assert.equal(targetVerdict({ ...base, exe: "/usr/sbin/nginx (deleted)", exeId: "8:1:5" }, ctx), undefined, "upgraded binary, same namespace");
  assert.match(targetVerdict({ ...base, exe: "/usr/bin/bash" }, ctx)!.reason, /runs \/usr\/bin\/bash, but the service declares expect\.exe/);
  assert.equal(targetVerdict({ ...base, mntNs: "mnt:[2]" }, ctx), undefined, "another namespace, the very same file");
  assert.match(targetVerdict({ ...base, mntNs: "mnt:[2]", exeId: "0:33:9" }, ctx)!.reason, /in another mount namespace, and it is not the file at expect\.exe/, "a program bind-mounted over the path");
  assert.match(targetVerdict({ ...base, mntNs: "mnt:[2]", exe: "/usr/sbin/nginx (deleted)", exeId: "0:33:9" }, ctx)!.reason, /another mount namespace/);
});

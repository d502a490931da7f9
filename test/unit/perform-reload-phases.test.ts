// The reload phases over a fake process table, a fake driver and a fake
// journal: baseline refusals, the re-check right before sending, and how the
// generation wait turns what was seen into an outcome.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ServiceConfig } from "../../agent/config/agent-config.js";
import { guardRefusal, type ServiceDriver } from "../../agent/drivers/service-driver.js";
import type { CommandRunner } from "../../agent/process/command-runner.js";
import { FakeProcessInspector } from "../../agent/process/fake-process-inspector.js";
import type { FactsNeeded } from "../../agent/process/process-inspector.js";
import { performReload } from "../../agent/reload/perform-reload.js";
import type { JournalEntry, JournalReader } from "../../agent/verify/journal-tail.js";
import { serviceConfig } from "../helpers/service-config.js";

const MAIN = 4242;
const noRunner: CommandRunner = { run: async () => assert.fail("no command should run") };

/** A signal-method driver over the fake table; `beforeSend` runs between baseline and the guard, `onSend` in place of the kill. */
function fakeDriver(fake: FakeProcessInspector, hooks: { beforeSend?: () => void; onSend?: () => void } = {}) {
  const d = {
    sent: 0,
    method: "signal" as const,
    signal: "HUP" as const,
    summary: "fake",
    async locate(need?: FactsNeeded) {
      const facts = await fake.inspect(MAIN, need);
      if (!facts) return { state: "not_running" as const, reason: `pid ${MAIN} is gone` };
      return { state: "running" as const, main: { pid: MAIN, startTime: facts.startTime, uid: facts.uid, command: facts.command }, facts };
    },
    preflight: async () => undefined,
    async trigger(_main: unknown, { guard }: { guard?: Parameters<typeof guardRefusal>[1] }) {
      hooks.beforeSend?.();
      const refused = await guardRefusal(`kill -HUP ${MAIN}`, guard);
      if (refused) return refused;
      d.sent++;
      hooks.onSend?.();
      return { ok: true as const, action: `kill -HUP ${MAIN}` };
    },
  };
  return d satisfies ServiceDriver;
}

/** Reading a full command line waits (the target holds its memory lock) until `release`; the kernel's short name does not. */
class WaitingCommandLines extends FakeProcessInspector {
  release!: () => void;
  private readonly released = new Promise<void>((r) => (this.release = r));
  reads = 0;
  override async inspect(pid: number, need?: FactsNeeded) {
    const p = await super.inspect(pid);
    if (!p || need?.command === false) return p && { ...p, command: p.command.split(" ")[0]! };
    this.reads++;
    await this.released;
    return p;
  }
}

class FakeJournal implements JournalReader {
  entries: JournalEntry[] = [];
  private seq = 0;
  log(unit: string, message: string, atMs = Date.now()) {
    this.entries.push({ cursor: `c${++this.seq}`, atUs: atMs * 1000, unit, message });
  }
  async head() {
    return this.entries.at(-1)?.cursor ?? "";
  }
  async after(unit: string, cursor: string) {
    const from = cursor ? this.entries.findIndex((e) => e.cursor === cursor) + 1 : 0;
    return this.entries.slice(from).filter((e) => e.unit === unit || e.unit === "init.scope");
  }
}

const run = (svc: ServiceConfig, driver: ServiceDriver, fake: FakeProcessInspector, journal: JournalReader = new FakeJournal()) =>
  performReload(svc, driver, noRunner, { allowRestart: false, inspector: fake, journal });

describe("reload phases over a fake process table", () => {
  test("baseline refuses the agent itself, PID 1, kernel threads and zombies; nothing is sent", async () => {
    for (const [facts, outcome, reason] of [
      [{ pid: process.pid }, "refused", /the fleet agent itself/],
      [{ pid: 1 }, "refused", /pid 1 is init/],
      [{ kernelThread: true }, "refused", /is a kernel thread/],
      [{ state: "Z" }, "not_running", /is a zombie/],
      [{ caught: 0n }, "refused", /SIGHUP would terminate pid 4242/],
      [{ caught: 1n, ignored: 1n }, "refused", /pid 4242 ignores SIGHUP: it cannot reload by signal/],
      [{ exe: "/usr/bin/python3" }, "refused", /runs \/usr\/bin\/python3, but the service declares expect\.exe \/usr\/sbin\/daemon/],
      [{ tgid: 77 }, "refused", /pid 4242 is a thread of process 77, not a process/],
    ] as const) {
      const fake = new FakeProcessInspector();
      const p = fake.add(MAIN, { ...facts, pid: MAIN });
      if ("pid" in facts) [p.pid, p.tgid] = [facts.pid, facts.pid]; // the table key stays MAIN; the facts claim another pid
      const driver = fakeDriver(fake);
      const r = await run(serviceConfig({ expect: { exe: "/usr/sbin/daemon" } }), driver, fake);
      assert.equal(r.outcome, outcome, `${JSON.stringify(facts, (_k, v) => (typeof v === "bigint" ? String(v) : v))}: ${r.reason}`);
      assert.match(r.reason, reason);
      assert.equal(driver.sent, 0);
      assert.equal(r.evidence.signalled, false);
    }
  });

  test("everything is checked again right before sending: a process that starts ignoring the signal is refused", async () => {
    const fake = new FakeProcessInspector();
    fake.add(MAIN);
    const driver = fakeDriver(fake, { beforeSend: () => (fake.procs.get(MAIN)!.ignored = 1n) });
    const r = await run(serviceConfig(), driver, fake);
    assert.equal(r.outcome, "refused", r.reason);
    assert.match(r.reason, /ignores SIGHUP/);
    assert.equal(driver.sent, 0);
  });

  test("a PID reused between baseline and the signal is not signalled", async () => {
    const fake = new FakeProcessInspector();
    fake.add(MAIN);
    const driver = fakeDriver(fake, { beforeSend: () => (fake.procs.get(MAIN)!.startTime += 1) });
    const r = await run(serviceConfig(), driver, fake);
    assert.equal(r.outcome, "failed", r.reason);
    assert.match(r.reason, /no longer the process seen at baseline/);
    assert.equal(driver.sent, 0);
  });

  test("new workers up and the old ones no longer listening -> reloaded", async () => {
    const fake = new FakeProcessInspector();
    fake.add(MAIN);
    fake.childrenOf.set(MAIN, [10, 11]);
    fake.listening.set(MAIN, [900]);
    fake.sockets.set(10, [900]);
    fake.sockets.set(11, [900]);
    const driver = fakeDriver(fake, { onSend: () => (fake.childrenOf.set(MAIN, [10, 11, 20, 21]), fake.sockets.set(10, []), fake.sockets.set(11, [])) });
    const r = await run(serviceConfig(), driver, fake);
    assert.equal(r.outcome, "reloaded", r.reason);
    assert.equal(r.evidence.generation.source, "workers");
    assert.deepEqual(r.evidence.workersAfter, [10, 11, 20, 21]);
  });

  test("new workers up but the old ones still listening at the timeout -> failed, saying what was seen", async () => {
    const fake = new FakeProcessInspector();
    fake.add(MAIN);
    fake.childrenOf.set(MAIN, [10]);
    fake.listening.set(MAIN, [900]);
    fake.sockets.set(10, [900]);
    const driver = fakeDriver(fake, { onSend: () => fake.childrenOf.set(MAIN, [10, 20]) });
    const r = await run(serviceConfig(), driver, fake);
    assert.equal(r.outcome, "failed", r.reason);
    assert.equal(r.reason, "timed out after 100ms waiting for the old workers to stop listening: new workers 20 are up; old workers 10 still listen");
  });

  test("no new worker at all -> rejected; no generation evidence at all -> unverified", async () => {
    const fake = new FakeProcessInspector();
    fake.add(MAIN);
    fake.childrenOf.set(MAIN, [10]);
    const r = await run(serviceConfig(), fakeDriver(fake), fake);
    assert.equal(r.outcome, "rejected", r.reason);
    fake.childrenOf.set(MAIN, []);
    const driver = fakeDriver(fake);
    const u = await run(serviceConfig(), driver, fake);
    assert.equal(u.outcome, "unverified", u.reason);
    assert.equal(u.ok, false);
    assert.equal(driver.sent, 1);
  });

  test("the main process gone after the signal -> failed", async () => {
    const fake = new FakeProcessInspector();
    fake.add(MAIN);
    const r = await run(serviceConfig(), fakeDriver(fake, { onSend: () => fake.procs.delete(MAIN) }), fake);
    assert.equal(r.outcome, "failed", r.reason);
    assert.match(r.reason, /died after the reload/);
    assert.match(r.reason, /pid \d+ is gone\)$/, "the reason says what looking for it again found");
  });

  test("journal evidence counts only the unit's own lines written after the signal", async () => {
    const fake = new FakeProcessInspector();
    fake.add(MAIN);
    const journal = new FakeJournal();
    journal.log("app.service", "config loaded (at startup)");
    const svc = serviceConfig({ generation: { kind: "journal", unit: "app.service", marker: /config loaded/ }, rejectMarkers: { source: "journal", unit: "app.service", pattern: /rejected/ } });
    // systemd's own line about the unit, and a stale line delivered late, do not count.
    const stale = fakeDriver(fake, { onSend: () => (journal.log("init.scope", "config loaded? Reloading app.service"), journal.log("app.service", "config loaded (old)", Date.now() - 5000)) });
    const none = await run(svc, stale, fake, journal);
    assert.equal(none.outcome, "rejected", none.reason);
    assert.match(none.reason, /no new generation \(journal\)/);

    const good = fakeDriver(fake, { onSend: () => journal.log("app.service", "config loaded: generation 7") });
    const r = await run(svc, good, fake, journal);
    assert.equal(r.outcome, "reloaded", r.reason);
    assert.equal(r.evidence.generation.after, "config loaded: generation 7");

    const bad = fakeDriver(fake, { onSend: () => journal.log("app.service", "config rejected: line 3") });
    const x = await run(svc, bad, fake, journal);
    assert.equal(x.outcome, "rejected", x.reason);
    assert.equal(x.evidence.rejectMarker, "config rejected: line 3");
  });

  test("a journal that cannot be read after the signal is failed, not rejected", async () => {
    const fake = new FakeProcessInspector();
    fake.add(MAIN);
    const journal = new FakeJournal();
    let broken = false;
    const reader: JournalReader = { head: () => journal.head(), after: async (u, c) => (broken ? Promise.reject(new Error("journalctl failed (exit 1): no journal files")) : journal.after(u, c)) };
    const svc = serviceConfig({ generation: { kind: "journal", unit: "app.service", marker: /config loaded/ } });
    const r = await run(svc, fakeDriver(fake, { onSend: () => (broken = true) }), fake, reader);
    assert.equal(r.outcome, "failed", r.reason);
    assert.match(r.reason, /could not read the generation evidence \(journal\): journalctl failed/);
  });

  test("the full command line is read beside the reload: one that waits does not hold up the signal, and is not shown as before it", { timeout: 10_000 }, async () => {
    const fake = new WaitingCommandLines();
    fake.add(MAIN, { command: "daemon -c /etc/daemon.conf" });
    let readsWhenSent = -1;
    const driver = fakeDriver(fake, {
      onSend: () => {
        readsWhenSent = fake.reads;
        fake.release();
      },
    });
    const r = await run(serviceConfig({ generation: { kind: "none" } }), driver, fake);
    assert.equal(driver.sent, 1);
    assert.equal(readsWhenSent, 1, "the command line read was under way, not awaited, when the signal went");
    // Finished only after the signal, it could be a re-executed program's: the short name stays.
    assert.equal(r.evidence.mainBefore?.command, "daemon");
    assert.equal(r.evidence.mainAfter?.command, "daemon -c /etc/daemon.conf");
  });

  test("a command line that never arrives costs the evidence at most a second, not the reload's answer", { timeout: 10_000 }, async () => {
    const fake = new WaitingCommandLines();
    fake.add(MAIN, { command: "daemon -c /etc/daemon.conf" });
    const driver = fakeDriver(fake);
    const t = performance.now();
    const r = await run(serviceConfig({ generation: { kind: "none" } }), driver, fake);
    assert.equal(driver.sent, 1);
    assert.ok(performance.now() - t < 5000, "the reload answered");
    assert.deepEqual([r.evidence.mainBefore?.command, r.evidence.mainAfter?.command], ["daemon", "daemon"]);
    // Nothing sent (the driver refuses after the baseline): the baseline's read is given up on the same way.
    const refused = await run(serviceConfig({ generation: { kind: "none" } }), { ...fakeDriver(fake), preflight: async () => "not now" }, fake);
    assert.equal(refused.outcome, "refused");
    assert.equal(refused.evidence.mainBefore?.command, "daemon");
  });

  test("a command line read before the signal is mainBefore's; mainAfter is read again (a daemon that re-executes itself keeps its PID)", async () => {
    const fake = new FakeProcessInspector();
    fake.add(MAIN, { command: "daemon -c /etc/daemon.conf" });
    const driver = fakeDriver(fake, { onSend: () => (fake.procs.get(MAIN)!.command = "daemon -c /etc/daemon.conf --generation 2") });
    // The baseline's read finishes at once here; give it its turn before the signal.
    const r = await run(serviceConfig({ generation: { kind: "none" } }), { ...driver, preflight: () => new Promise<undefined>((resolve) => setTimeout(resolve, 10)) }, fake);
    assert.equal(driver.sent, 1);
    assert.equal(r.evidence.mainBefore?.command, "daemon -c /etc/daemon.conf");
    assert.equal(r.evidence.mainAfter?.command, "daemon -c /etc/daemon.conf --generation 2");
  });
});

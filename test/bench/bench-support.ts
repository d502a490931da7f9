// Pieces the benchmarks share: a controller over an in-memory inventory, one
// measured rolling reload, the floor reload, and the statistics.
import { readFileSync } from "node:fs";
import { childrenOf, socketInodes } from "../../agent/process/proc-fs.js";
import { useLeanAsyncResourceBind } from "../../common/lean-async-bind.js";
import { silentLogger } from "../../common/logger.js";
import { ControllerCore } from "../../controller/controller-core.js";
import type { HistoryStore } from "../../controller/history/history-store.js";
import { SqliteHistoryStore } from "../../controller/history/sqlite-history-store.js";
import { INVENTORY_DEFAULTS } from "../../controller/inventory/inventory.js";
import { DEFAULT_POLICY } from "../../controller/rollout/rollout-policy.js";

/**
 * A controller with one group of `hosts` (insecure agents) and its history in `db` (or the given
 * store), in a process that runs as the daemon's does (its main replaces AsyncResource's bind).
 */
export function benchController(group: string, service: string, hosts: string[], db: string, store?: HistoryStore): ControllerCore {
  useLeanAsyncResourceBind();
  return new ControllerCore(
    {
      controller: { listen: "unix:/nonexistent", db, operators: { read: [], operate: [] } },
      agents: { access: { mode: "insecure" }, deadlineMs: INVENTORY_DEFAULTS.deadlineMs, reloadDeadlineMs: 60_000 },
      groups: new Map([[group, { name: group, service, hosts, members: hosts.map((address) => ({ name: address, address, vars: {}, labels: {} })), vars: {}, canary: [], policy: DEFAULT_POLICY }]]),
      schedules: [],
      credentials: { agents: { mode: "insecure" } },
    },
    store ?? new SqliteHistoryStore(db),
    silentLogger,
  );
}

/** One rolling reload of the whole group in batches of `batch`, no canary; throws unless it succeeded. `acceptUnverified` for services without generation evidence. */
export async function rollingReload(core: ControllerCore, group: string, batch: number, acceptUnverified = false) {
  const final = await core.startReload({ group, policy: { canary: "0", batch: String(batch), ...(acceptUnverified ? { accept_unverified: "true" } : {}) }, hosts: [], reason: "bench", caller: { user: "bench", host: "bench" }, peer: "bench", allowRestart: false }, () => undefined).done;
  if (final.state !== "succeeded") throw new Error(`bench rollout ${final.state}: ${final.summary}`);
  return final;
}

/**
 * The floor for one nginx: HUP the master, wait for a new worker (and, with
 * `untilRetired`, until the old ones stopped listening), probe once. No
 * transport, no orchestration.
 */
export async function floorReload(pidfile: string, probeUrl: string, untilRetired: boolean): Promise<void> {
  const master = Number(readFileSync(pidfile, "utf8"));
  const before = new Set(await childrenOf(master));
  const listeners = await socketInodes(master);
  process.kill(master, "SIGHUP");
  for (;;) {
    const now = await childrenOf(master);
    if (now.some((p) => !before.has(p))) {
      if (!untilRetired) break;
      const old = now.filter((p) => before.has(p));
      const listening = await Promise.all(old.map(async (p) => [...(await socketInodes(p))].some((i) => listeners.has(i))));
      if (!listening.some(Boolean)) break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const res = await fetch(probeUrl, { headers: { connection: "close" } });
  await res.text();
  if (res.status !== 200) throw new Error(`floor probe ${res.status}`);
}

/** Lets old workers finish exiting so one run does not overlap the next. */
export const settle = () => new Promise((r) => setTimeout(r, 300));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function timeStats(xs: number[]) {
  return { medianMs: Math.round(median(xs)), minMs: Math.round(Math.min(...xs)), maxMs: Math.round(Math.max(...xs)) };
}

/** Run by run ratios a[i] / b[i]. */
export function ratioStats(a: number[], b: number[]) {
  const rs = a.map((x, i) => x / b[i]!);
  return { median: +median(rs).toFixed(2), min: +Math.min(...rs).toFixed(2), max: +Math.max(...rs).toFixed(2) };
}

// Fencing on the agent: a mutating call that carries a controller identity and
// epoch (gRPC metadata x-fleet-controller-id / x-fleet-epoch) is refused when
// that controller has already been seen here with a newer epoch — a standby
// took over, and the old controller must not act. The newest epoch is
// recorded on disk before the call acts. Calls without the metadata (the
// `fleet agent` CLI, an operator debugging one host) are allowed and logged
// as unfenced: they never come from a controller's rollout.
//
// A change is judged once more at its commit point (right before it installs
// a file, or before a reload starts): refused there if a newer epoch came
// meanwhile, else it counts as committed until it ends. A Fence waits for
// the committed changes of its controller's older epochs, so once a Fence
// has returned OK no change of an older epoch lands any more.
//
// The file is read again only when it may say something new: a call whose
// epoch equals the newest known for its controller (what the last read found,
// and what this process recorded) is judged without reading it when a few
// synchronous lstats show the file and every directory on the way to it as
// the last read found them. Reading it costs about ten thread-pool round
// trips, which under load were most of a reload's time before the signal.
import { failedPrecondition, invalidArgument } from "../../common/errors.js";
import { compareEpochs, formatEpoch, isControllerId, parseEpoch, type ControllerEpoch } from "../../common/controller-epoch.js";
import type { Logger } from "../../common/logger.js";
import { EpochFileChanged, type EpochStore, type SeenEpoch } from "./epoch-store.js";

/** Attempts when another writer changes the file between our read and our write. */
const ATTEMPTS = 5;

export type Verdict = { act: "accept" } | { act: "record" } | { act: "refuse"; message: string };

/** Pure: what to do with `offered` from controller `id` given what was seen. */
export function judgeEpoch(id: string, offered: ControllerEpoch, seen: ControllerEpoch | undefined): Verdict {
  if (!seen) return { act: "record" };
  const order = compareEpochs(offered, seen);
  if (order > 0) return { act: "record" };
  if (order === 0) return { act: "accept" };
  return {
    act: "refuse",
    message:
      `controller ${id} at epoch ${formatEpoch(offered)} is fenced: this agent has accepted epoch ${formatEpoch(seen)} from controller ${id}, ` +
      `so another controller took over its history (or it was restarted since); nothing was done. Stop this controller; the one at epoch ${formatEpoch(seen)} or newer drives this host`,
  };
}

/** Reads the two headers; undefined when neither is there. */
export function fencingHeaders(get: (key: "id" | "epoch") => string | undefined): { id: string; epoch: ControllerEpoch } | undefined {
  const id = get("id");
  const epochText = get("epoch");
  if (id === undefined && epochText === undefined) return undefined;
  if (id === undefined || epochText === undefined) throw invalidArgument("x-fleet-controller-id and x-fleet-epoch come together or not at all");
  if (!isControllerId(id)) throw invalidArgument(`x-fleet-controller-id must be 1-64 letters, digits, '_' or '-', got ${JSON.stringify(id.slice(0, 80))}`);
  const epoch = parseEpoch(epochText);
  if (!epoch) throw invalidArgument(`x-fleet-epoch must be TAKEOVER.START (two decimal numbers), got ${JSON.stringify(epochText.slice(0, 80))}`);
  return { id, epoch };
}

interface Committed {
  id: string;
  epoch: ControllerEpoch;
  label: string;
  ended: Promise<void>;
}

export class EpochGuard {
  /** Everything accepted in this process, so a state_dir moved by SIGHUP cannot lower a fence. */
  private readonly memory = new Map<string, SeenEpoch>();
  /** The file as the last read found it, with what this process recorded since: what a call is judged on without reading. */
  private known = new Map<string, SeenEpoch>();
  /** Fenced changes past their commit point that have not ended. */
  private readonly committed = new Set<Committed>();
  /** One check at a time: two calls must not both read the old file and race their writes. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: EpochStore,
    private readonly logger: Logger,
  ) {}

  /** Resolves when the call may act; rejects with FAILED_PRECONDITION when its controller is fenced. */
  admit(rpc: string, caller: string, headers: { id: string; epoch: ControllerEpoch } | undefined): Promise<void> {
    if (!headers) {
      this.logger.info("call without a controller epoch: not fenced (fleet agent CLI or another direct caller)", { rpc, caller });
      return Promise.resolve();
    }
    const run = this.queue.then(() => this.check(rpc, headers.id, headers.epoch));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * admit, at a change's commit point; when accepted the change counts as
   * committed until the returned release is called. Registered within the
   * same queue as every check, so a Fence recorded after this sees it, and a
   * commit judged after a Fence is refused.
   */
  commit(rpc: string, caller: string, headers: { id: string; epoch: ControllerEpoch }): Promise<() => void> {
    const run = this.queue
      .then(() => this.check(rpc, headers.id, headers.epoch))
      .then(() => {
        let ended!: () => void;
        const entry: Committed = { id: headers.id, epoch: headers.epoch, label: `${rpc} by ${caller} (controller ${headers.id} at epoch ${formatEpoch(headers.epoch)})`, ended: new Promise((r) => (ended = r)) };
        this.committed.add(entry);
        return () => {
          this.committed.delete(entry);
          ended();
        };
      });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * After a Fence by `headers` was recorded: waits until `untilMs` (epoch ms)
   * for the committed changes of that controller's older epochs to end.
   * Returns the ones still in progress then (none: no older change lands any more).
   */
  async settle(headers: { id: string; epoch: ControllerEpoch }, untilMs: number): Promise<string[]> {
    const older = [...this.committed].filter((c) => c.id === headers.id && compareEpochs(c.epoch, headers.epoch) < 0);
    if (!older.length) return [];
    this.logger.info("Fence waits for changes of older epochs already past their commit point", { controller: headers.id, epoch: formatEpoch(headers.epoch), changes: older.map((c) => c.label) });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(older.map((c) => c.ended)), new Promise((r) => (timer = setTimeout(r, Math.max(0, untilMs - Date.now()))))]).finally(() => clearTimeout(timer));
    return older.filter((c) => this.committed.has(c)).map((c) => c.label);
  }

  private async check(rpc: string, id: string, epoch: ControllerEpoch): Promise<void> {
    // The newest known, and the file and the way to it as read: nothing to read again.
    const known = this.known.get(id);
    if (known && compareEpochs(epoch, known.epoch) === 0 && this.store.unchangedSinceRead()) return;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.checkOnce(rpc, id, epoch);
      } catch (err) {
        // Judged again on what the other writer left: it may have recorded a newer epoch.
        if (!(err instanceof EpochFileChanged)) throw err;
        if (attempt >= ATTEMPTS) throw failedPrecondition(`the controller epoch file kept changing while this agent wrote it (${ATTEMPTS} attempts; another agent sharing its state_dir?); nothing was done`);
      }
    }
  }

  private async checkOnce(rpc: string, id: string, epoch: ControllerEpoch): Promise<void> {
    const all = await this.store.read();
    for (const [k, v] of this.memory) {
      const onDisk = all.get(k);
      if (!onDisk || compareEpochs(v.epoch, onDisk.epoch) > 0) all.set(k, v);
    }
    this.known = new Map(all);
    const verdict = judgeEpoch(id, epoch, all.get(id)?.epoch);
    if (verdict.act === "refuse") {
      this.logger.warn("call from a fenced controller refused", { rpc, controller: id, epoch: formatEpoch(epoch), seen: formatEpoch(all.get(id)!.epoch) });
      throw failedPrecondition(verdict.message);
    }
    if (verdict.act === "record") {
      const seen = { epoch, seenAt: new Date().toISOString() };
      all.set(id, seen);
      await this.store.write(all);
      this.memory.set(id, seen);
      this.known.set(id, seen);
      this.logger.info("controller epoch recorded", { controller: id, epoch: formatEpoch(epoch) });
    }
  }
}

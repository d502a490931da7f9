// A controller's fencing token, shared by the controller (which sends it) and
// the agent (which refuses an older one). Two counters, compared in order:
//   takeover — raised by `fleet-controller --restore-from` (a standby took over);
//   start    — raised by every start of the controller.
// Why two: a plain start counter cannot fence a stale copy. The old machine's
// database and the restored one both hold the epoch of the last start; a
// restart of the old machine would reach the same number as the standby (and
// overtake it with one more restart). With the takeover first, no number of
// restarts of the old copy (takeover N) reaches the standby (takeover N+1).
// On the wire (gRPC metadata) it travels as "TAKEOVER.START", e.g. "2.1".

export interface ControllerEpoch {
  takeover: number;
  start: number;
}

/** The gRPC metadata keys every mutating agent call carries (see README, "Fencing"). */
export const CONTROLLER_ID_HEADER = "x-fleet-controller-id";
export const EPOCH_HEADER = "x-fleet-epoch";

/** The RPCs that change something on a host, and Fence itself (which only records); only these are fenced. */
export const FENCED_RPCS = ["Reload", "PushConfig", "RollbackConfig", "Fence"] as const;

const CONTROLLER_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const EPOCH = /^(\d{1,15})\.(\d{1,15})$/;

export function formatEpoch(e: ControllerEpoch): string {
  return `${e.takeover}.${e.start}`;
}

export function parseEpoch(text: string): ControllerEpoch | undefined {
  const m = EPOCH.exec(text);
  return m ? { takeover: Number(m[1]), start: Number(m[2]) } : undefined;
}

export function isControllerId(text: string): boolean {
  return CONTROLLER_ID.test(text);
}

/** Negative when a is older than b, 0 when equal, positive when newer. */
export function compareEpochs(a: ControllerEpoch, b: ControllerEpoch): number {
  return a.takeover !== b.takeover ? a.takeover - b.takeover : a.start - b.start;
}

/** The epoch of the next start: one more start, or — restored from a replica — the next takeover. */
export function nextEpoch(current: ControllerEpoch, takeover: boolean): ControllerEpoch {
  return takeover ? { takeover: current.takeover + 1, start: 1 } : { takeover: current.takeover, start: current.start + 1 };
}

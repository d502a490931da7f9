// Delivers a reload signal to a main process after re-checking, right before
// the kill, that it is still the process seen at baseline and still a target
// the agent may signal, so a recycled PID is never signalled.
import type { ReloadSignal } from "../config/agent-config.js";
import type { ProcessInspector } from "../process/process-inspector.js";
import { userName } from "../process/proc-fs.js";
import { guardRefusal, type MainProcess, type TargetGuard, type TriggerResult } from "./service-driver.js";

export async function sendSignal(main: MainProcess, signal: ReloadSignal, inspector: ProcessInspector, guard: TargetGuard | undefined): Promise<TriggerResult> {
  const action = `kill -${signal} ${main.pid}`;
  // The reload's guard looks at the process once more (its identity, then everything the baseline judged); without one, the identity alone.
  const refused = guard ? await guardRefusal(action, guard) : await identityRefusal(main, inspector, action);
  if (refused) return refused;
  try {
    process.kill(main.pid, `SIG${signal}`);
    return { ok: true, action };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EPERM") {
      const self = process.getuid?.() ?? -1;
      // Whose it is now: its uid may have changed since the baseline.
      const uid = (await inspector.inspect(main.pid, { command: false, exeId: false }))?.uid ?? main.uid;
      return {
        ok: false,
        outcome: "refused",
        action,
        reason: `permission denied: the agent runs as user ${userName(self)} (uid ${self}) and may not signal pid ${main.pid}, which belongs to user ${userName(uid)} (uid ${uid}); run the agent as root or as ${userName(uid)}`,
      };
    }
    if (code === "ESRCH") return { ok: false, outcome: "failed", action, reason: `pid ${main.pid} exited before the signal arrived` };
    return { ok: false, outcome: "failed", action, reason: `kill failed: ${(err as Error).message}` };
  }
}

async function identityRefusal(main: MainProcess, inspector: ProcessInspector, action: string): Promise<TriggerResult | undefined> {
  const now = await inspector.inspect(main.pid);
  if (now && now.startTime === main.startTime) return undefined;
  return { ok: false, outcome: "failed", action, reason: `pid ${main.pid} is no longer the process seen at baseline (it exited or the PID was reused); nothing was signalled` };
}

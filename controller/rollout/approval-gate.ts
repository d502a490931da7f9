// The approval gate of a rollout with `approve`: after the canary batch and
// its bake the run waits here until an operator promotes it (fleet promote)
// or it is stopped (abort, controller shutdown). A small state of its own so
// the run only asks "wait" and the executor only asks "approve".
export class ApprovalGate {
  private waiting: ((by: string | undefined) => void) | undefined;

  get isWaiting(): boolean {
    return this.waiting !== undefined;
  }

  /** Resolves with who approved, or undefined when `stop` fired first. */
  wait(stop: AbortSignal): Promise<string | undefined> {
    if (stop.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onStop = () => this.release(undefined);
      this.waiting = (by) => {
        stop.removeEventListener("abort", onStop);
        this.waiting = undefined;
        resolve(by);
      };
      stop.addEventListener("abort", onStop, { once: true });
    });
  }

  /** False when the run is not waiting. */
  approve(by: string): boolean {
    if (!this.waiting) return false;
    this.release(by);
    return true;
  }

  private release(by: string | undefined): void {
    this.waiting?.(by);
  }
}

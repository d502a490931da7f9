// Remembers mutating requests by request_id so a retry returns the first
// result (joining it while still in flight) and never acts twice.
import { invalidArgument } from "../../common/errors.js";

const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export class RequestLedger<T> {
  private readonly entries = new Map<string, { key: string; result: Promise<T> }>();

  constructor(private readonly capacity = 10_000) {}

  /** Runs `work` once per id; later calls with the id get the same result and `replayed: true`. */
  async once(requestId: string, key: string, work: () => Promise<T>): Promise<{ result: T; replayed: boolean }> {
    if (!REQUEST_ID.test(requestId)) throw invalidArgument("request_id must be 1-128 characters of letters, digits and . _ : @ -");
    const seen = this.entries.get(requestId);
    if (seen) {
      if (seen.key !== key) throw invalidArgument(`request_id ${requestId} was already used for a different request (${seen.key})`);
      return { result: await seen.result, replayed: true };
    }
    const result = work();
    this.entries.set(requestId, { key, result });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    // A request that threw (not an outcome, an error) may be retried.
    result.catch(() => this.entries.delete(requestId));
    return { result: await result, replayed: false };
  }
}

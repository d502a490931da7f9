// One HTTP POST with a deadline; no redirects followed (a webhook URL that
// redirects is a misconfiguration to see, not to chase).
export type PostResult = { status: number } | { error: string };
export type PostJson = (url: string, body: string, headers: Record<string, string>, timeoutMs: number, stop: AbortSignal) => Promise<PostResult>;

export const postJson: PostJson = async (url, body, headers, timeoutMs, stop) => {
  // A timer we hold ourselves: Node 20 lets a garbage collection take an AbortSignal.timeout()
  // that only AbortSignal.any() refers to, and then it never fires.
  const attempt = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    attempt.abort();
  }, timeoutMs);
  const onStop = () => attempt.abort();
  stop.addEventListener("abort", onStop, { once: true });
  if (stop.aborted) attempt.abort();
  try {
    const res = await fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
      redirect: "manual",
      signal: attempt.signal,
    });
    // The answer's body is not needed; do not read an unbounded one.
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status };
  } catch (err) {
    const e = err as Error & { cause?: Error };
    if (timedOut) return { error: `no answer within ${timeoutMs}ms` };
    if (e.name === "AbortError") return { error: "controller stopping" };
    return { error: e.cause?.message ?? e.message };
  } finally {
    clearTimeout(timer);
    stop.removeEventListener("abort", onStop);
  }
};

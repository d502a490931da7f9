// One HTTP POST with a deadline; no redirects followed (a webhook URL that
// redirects is a misconfiguration to see, not to chase).
export type PostResult = { status: number } | { error: string };
export type PostJson = (url: string, body: string, headers: Record<string, string>, timeoutMs: number, stop: AbortSignal) => Promise<PostResult>;

export const postJson: PostJson = async (url, body, headers, timeoutMs, stop) => {
  try {
    const res = await fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
      redirect: "manual",
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]),
    });
    // The answer's body is not needed; do not read an unbounded one.
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status };
  } catch (err) {
    const e = err as Error & { cause?: Error };
    if (e.name === "TimeoutError") return { error: `no answer within ${timeoutMs}ms` };
    if (e.name === "AbortError") return { error: "controller stopping" };
    return { error: e.cause?.message ?? e.message };
  }
};

// The controller's replacement for Node 20's AsyncResource.prototype.bind: the same behaviour as
// Node's (checked side by side), without the deprecated accessor; http2 requests still carry
// their caller's async context.
import assert from "node:assert/strict";
import { AsyncLocalStorage, AsyncResource, executionAsyncId } from "node:async_hooks";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { useLeanAsyncResourceBind } from "../../common/lean-async-bind.js";

/** Node documents bind(fn[, thisArg]); its types know only fn. */
type Bind = (this: AsyncResource, fn: unknown, thisArg?: unknown) => (...args: unknown[]) => unknown;
const nativeBind = AsyncResource.prototype.bind as unknown as Bind;
const hadAccessor = !!Object.getOwnPropertyDescriptor(new AsyncResource("t").bind(() => undefined), "asyncResource");

/** What a bound function does and looks like, for one bind implementation. */
function behaviour(bind: Bind) {
  const r = new AsyncResource("fleet-test");
  const seen: unknown[] = [];
  const fn = function (this: unknown, a: number, b: number) {
    seen.push(executionAsyncId() === r.asyncId(), this, a + b);
    return a * b;
  };
  const unbound = bind.call(r, fn);
  const self = { name: "caller" };
  const viaThis = unbound.call(self, 2, 3);
  const withThis = bind.call(r, fn, "fixed");
  const viaFixed = withThis.call(self, 4, 5);
  let thrown = "";
  try {
    bind.call(r, 42 as never);
  } catch (err) {
    thrown = (err as Error).name;
  }
  return { seen, viaThis, viaFixed, length: unbound.length, fixedLength: withThis.length, thrown, lengthEnumerable: Object.keys(unbound).includes("length") };
}

test("Node's bind and the lean one behave alike; only the deprecated accessor goes", () => {
  const before = behaviour(nativeBind);
  assert.equal(useLeanAsyncResourceBind(), hadAccessor, "replaced exactly when Node adds the accessor");
  const after = behaviour(AsyncResource.prototype.bind as unknown as Bind);
  assert.deepEqual(after, before);
  assert.deepEqual(after.seen, [true, { name: "caller" }, 5, true, "fixed", 9]);
  assert.equal(after.length, 2);
  assert.equal(after.thrown, "TypeError");
  assert.equal(Object.getOwnPropertyDescriptor(new AsyncResource("t").bind(() => undefined), "asyncResource"), undefined);
  assert.equal(useLeanAsyncResourceBind(), false, "a second call finds nothing to drop");
});

test("AsyncLocalStorage and an http2 request keep their caller's context with the lean bind", { timeout: 10_000 }, async () => {
  useLeanAsyncResourceBind();
  const als = new AsyncLocalStorage<string>();
  assert.equal(als.run("bound", () => AsyncLocalStorage.bind(() => als.getStore()))(), "bound");
  const server = http2.createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    // Sent before the session connected: http2 queues it through the bound callback.
    const seen = await als.run("request-1", () => new Promise<string>((resolve, reject) => {
      const req = client.request({ ":path": "/" });
      req.on("response", () => resolve(als.getStore() ?? "(none)"));
      req.on("error", reject);
      req.resume();
      req.end();
    }));
    assert.equal(seen, "request-1");
  } finally {
    client.close();
    await new Promise((r) => server.close(r));
  }
});

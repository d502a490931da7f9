// Node 20's AsyncResource.prototype.bind gives every bound function a deprecated
// `asyncResource` accessor pair, each made by util.deprecate, which re-parents a
// new function object (Object.setPrototypeOf) on every call. http2's client
// binds one function per request, so every gRPC call a controller makes pays
// for it: at 10,000 agents about an eighth of the controller's CPU, much of it
// in the garbage collector (README, Benchmarks). Later Node versions stopped
// re-parenting and then dropped the accessor; this does what they do, and only
// where the running Node still adds it.
import { AsyncResource } from "node:async_hooks";

/** Replaces AsyncResource.prototype.bind with one without the deprecated accessor; false when Node has none to drop. */
export function useLeanAsyncResourceBind(): boolean {
  const sample = new AsyncResource("fleet-bind-check").bind(() => undefined);
  if (!Object.getOwnPropertyDescriptor(sample, "asyncResource")) return false;
  AsyncResource.prototype.bind = leanBind;
  return true;
}

/** What Node's bind does, without `asyncResource`: the function runs in the resource's async scope. */
function leanBind<Func extends (...args: any[]) => unknown>(this: AsyncResource, fn: Func, thisArg?: unknown): Func {
  if (typeof fn !== "function") throw new TypeError(`The "fn" argument must be of type function. Received ${fn === null ? "null" : typeof fn}`);
  const resource = this;
  const bound =
    thisArg === undefined
      ? function (this: unknown, ...args: unknown[]) {
          return resource.runInAsyncScope(fn, this, ...args);
        }
      : resource.runInAsyncScope.bind(resource, fn, thisArg);
  Object.defineProperty(bound, "length", { configurable: true, enumerable: false, value: fn.length, writable: false });
  return bound as unknown as Func;
}

// What counts as loopback for the plain-HTTP listeners: IP literals in
// 127.0.0.0/8 and ::1, or the name localhost; look-alikes that a resolver would
// look up as names (127.999.0.1, 127.1) are not.
import assert from "node:assert/strict";
import { test } from "node:test";
import { httpListen, isLoopbackHost } from "../../common/loopback-listen.js";
import { Problems } from "../../common/field-checks.js";

test("loopback literals and localhost pass; look-alikes and other addresses do not", () => {
  for (const h of ["127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost"]) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ["127.999.0.1", "127.1", "127.0.0.01", "0x7f.0.0.1", "10.0.0.1", "0.0.0.0", "[::]", "localhost.example.net", "127.0.0.1.nip.io", ""]) assert.equal(isLoopbackHost(h), false, h);
});

test("a plain-HTTP listen on a look-alike is refused, naming the field", () => {
  const p = new Problems();
  assert.equal(httpListen("127.999.0.1:9600", ["metrics", "listen"], p, false, "metrics.tls"), undefined);
  assert.match(p.list.map((x) => `${x.path.join(".")}: ${x.message}`).join("\n"), /^metrics\.listen: 127\.999\.0\.1:9600 is not a loopback address/);
});

// The version store's directory names: one per declared path (no two paths
// share one), unchanged for paths without '%' (stores kept by earlier agents
// are read as before), within NAME_MAX for long paths.
import assert from "node:assert/strict";
import { test } from "node:test";
import { storeName } from "../../agent/configs/version-store.js";

test("distinct paths get distinct names, even when one spells the other's escape", () => {
  const paths = ["/d/a/b", "/d/a%2Fb", "/d/a%252Fb", "/d/a%25%2Fb", "/d/a%", "/d/a%%2F", "/d%2Fa/b", "/d/a/b/"];
  const names = paths.map(storeName);
  assert.equal(new Set(names).size, paths.length, JSON.stringify(names));
  for (const n of names) assert.ok(!n.includes("/"), n);
});

test("paths without '%' keep the names earlier agents used", () => {
  assert.equal(storeName("/etc/nginx/nginx.conf"), "%2Fetc%2Fnginx%2Fnginx.conf");
});

test("a long path gets a hashed name that fits and that no escaped name can equal", () => {
  const long = "/" + "x".repeat(300);
  const other = "/" + "x".repeat(299) + "y";
  assert.match(storeName(long), /^%%[0-9a-f]{64}$/);
  assert.notEqual(storeName(long), storeName(other));
  assert.ok(Buffer.byteLength(storeName("/" + "é".repeat(200))) <= 255);
});

test("escaped names of 241..255 bytes keep the form earlier agents used (no upgrade loses kept versions)", () => {
  const p = "/" + "x".repeat(80) + "/" + "y".repeat(80) + "/" + "z".repeat(80) + ".conf";
  const legacy = p.replaceAll("/", "%2F");
  assert.ok(Buffer.byteLength(legacy) > 240 && Buffer.byteLength(legacy) <= 255, String(Buffer.byteLength(legacy)));
  assert.equal(storeName(p), legacy);
  // One byte over NAME_MAX could never have been created: hashed.
  assert.match(storeName(p + "x".repeat(256 - Buffer.byteLength(legacy))), /^%%[0-9a-f]{64}$/);
});

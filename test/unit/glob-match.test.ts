import assert from "node:assert/strict";
import { test } from "node:test";
import { globMatch } from "../../controller/glob-match.js";

test("an address without a star matches only itself", () => {
  assert.equal(globMatch("web1:7601", "web1:7601"), true);
  assert.equal(globMatch("web1:7601", "web1:76011"), false);
  assert.equal(globMatch("web1:7601", "xweb1:7601"), false);
  assert.equal(globMatch("", ""), true);
  assert.equal(globMatch("", "a"), false);
});

test("a star matches any run of characters, the empty one included", () => {
  const cases: [string, string, boolean][] = [
    ["*", "", true],
    ["*", "anything:1", true],
    ["web*", "web", true],
    ["web*", "web12:7601", true],
    ["*:7601", "web1:7601", true],
    ["*:7601", "web1:7602", false],
    ["web*:7601", "web-a:7601", true],
    ["web*.example.net:*", "web2.example.net:7601", true],
    ["web*.example.net:*", "web2.example.org:7601", false],
    ["*a*b*c*", "xxaxxbxxcxx", true],
    ["*a*b*c*", "xxaxxcxxbxx", false],
    ["a*a", "aa", true],
    ["a*a", "a", false],
    ["**", "x", true],
    ["*x", "xxxxy", false],
    ["*x", "xxxyx", true],
    // Regular-expression characters are plain characters here.
    ["web.1", "webx1", false],
    ["[ab]*", "[ab]:7601", true],
    ["a+", "aa", false],
  ];
  for (const [pattern, text, want] of cases) assert.equal(globMatch(pattern, text), want, `${pattern} vs ${text}`);
});

test("the pathological pattern is linear: many stars against a long address that does not match", () => {
  // A backtracking RegExp of .*s needs about (length choose stars) steps here: it would not end.
  const text = "web-server-01.example.net:7601".repeat(30);
  const t = Date.now();
  assert.equal(globMatch("*".repeat(200) + "!", text), false);
  assert.equal(globMatch("*a".repeat(100) + "!", "a".repeat(1000)), false);
  assert.equal(globMatch("*a".repeat(100), "a".repeat(1000)), true);
  // A generous upper bound: each call is at most pattern × text (~200k) steps.
  assert.ok(Date.now() - t < 2000, `took ${Date.now() - t} ms`);
});

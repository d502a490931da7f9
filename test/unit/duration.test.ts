// One duration grammar in all three places: the pure parser, the inventory, the agent config and
// the real `fleet` binary all refuse a bare number with the same suggestion.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeHostFacts } from "../../agent/config/fake-host-facts.js";
import { parseAgentConfig } from "../../agent/config/parse-agent-config.js";
import { formatDuration, parseDuration } from "../../common/duration.js";
import { formatProblem } from "../../common/errors.js";
import { parseYamlText } from "../../common/yaml-file.js";
import { parseInventory } from "../../controller/inventory/parse-inventory.js";
import { runFleet } from "../helpers/run-cli.js";

test("parseDuration: units, compounds and refusals", () => {
  const ok: [string | number, number][] = [
    ["500ms", 500], ["30s", 30_000], ["2m", 120_000], ["1h", 3_600_000], ["1d", 86_400_000],
    ["1h30m", 5_400_000], ["2m30s", 150_000], ["1m0s500ms", 60_500], ["1.5s", 1500], [" 10s ", 10_000],
    ["0", 0], [0, 0], ["0s", 0],
  ];
  for (const [text, ms] of ok) assert.deepEqual(parseDuration(text), { ok: true, ms }, JSON.stringify(text));
  const refused: [string | number, RegExp][] = [
    ["30", /^30 has no unit: did you mean 30s\?/],
    [30, /^30 has no unit: did you mean 30s\?/],
    ["1.5", /^1\.5 has no unit: did you mean 1\.5s\?/],
    ["1h30", /must be a duration like 500ms, 30s, 2m or 1h30m, got "1h30"/],
    ["30s1h", /units must go from largest to smallest/],
    ["1m1m", /units must go from largest to smallest/],
    ["-1s", /must be a duration/],
    ["30 s", /must be a duration/],
    ["1e3s", /must be a duration/],
    ["soon", /must be a duration/],
    ["", /must be a duration/],
    ["1hr", /must be a duration/],
  ];
  for (const [text, re] of refused) {
    const d = parseDuration(text);
    assert.equal(d.ok, false, JSON.stringify(text));
    if (!d.ok) assert.match(d.problem, re);
  }
});

test("the inventory refuses bare durations with the suggestion", () => {
  const r = parseInventory(parseYamlText("fleet.yaml", "groups:\n  web:\n    service: nginx\n    hosts: [a:7601]\n    policy: { bake: 30, pause: 5 }\n").data);
  assert.equal(r.ok, false);
  const lines = r.ok ? "" : r.problems.map(formatProblem).join("\n");
  assert.match(lines, /groups\.web\.policy\.bake: 30 has no unit: did you mean 30s\?/);
  assert.match(lines, /groups\.web\.policy\.pause: 5 has no unit: did you mean 5s\?/);
});

test("the agent config refuses bare durations with the suggestion", () => {
  const r = parseAgentConfig(parseYamlText("agent.yaml", "insecure: true\nlisten: 127.0.0.1:0\nservices:\n  web:\n    reload: { systemd: web }\n    generation_timeout: 5\n    healthy_for: 1m30s\n").data, fakeHostFacts());
  assert.equal(r.ok, false);
  const lines = r.ok ? "" : r.problems.map(formatProblem).join("\n");
  assert.match(lines, /services\.web\.generation_timeout: 5 has no unit: did you mean 5s\?/);
  assert.doesNotMatch(lines, /healthy_for/);
});

test("the fleet binary refuses a bare --bake with the suggestion and exit 2", async () => {
  const r = await runFleet(["reload", "web", "--bake", "30", "--controller", "unix:/nonexistent.sock"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--bake: 30 has no unit: did you mean 30s\?/);
  const agent = await runFleet(["agent", "status", "127.0.0.1:1", "--deadline", "2"]);
  assert.equal(agent.code, 2, agent.stdout + agent.stderr);
  assert.match(agent.stderr, /--deadline: 2 has no unit: did you mean 2s\?/);
});

test("formatDuration reads back in the same grammar", () => {
  for (const ms of [0, 500, 1500, 30_000, 60_000, 90_000, 600_000, 3_600_000, 5_400_000, 5_430_000]) {
    const d = parseDuration(formatDuration(ms));
    assert.ok(d.ok, formatDuration(ms));
    if (d.ok) assert.ok(Math.abs(d.ms - ms) <= 10, `${ms} -> ${formatDuration(ms)} -> ${d.ms}`);
  }
  assert.equal(formatDuration(600_000), "10m");
  assert.equal(formatDuration(5_400_000), "1h30m");
});

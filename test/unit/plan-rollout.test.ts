import assert from "node:assert/strict";
import { test } from "node:test";
import { planRollout, shouldHalt } from "../../controller/rollout/plan-rollout.js";
import { applyPolicyText, DEFAULT_POLICY, type PolicyText } from "../../controller/rollout/rollout-policy.js";

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${i + 1}`);
const sizes = (n: number, text: PolicyText, preferred: string[] = []) => {
  const { policy, problems } = applyPolicyText(DEFAULT_POLICY, text, (f) => f);
  assert.deepEqual(problems, []);
  const plan = planRollout(hosts(n), preferred, policy);
  return plan.batches.map((b) => (b.canary ? `c${b.hosts.length}` : b.hosts.length)).join(" ");
};

test("planner: a table of sizes, percentages, lists, oversized canaries and rounding", () => {
  const cases: [number, PolicyText, string][] = [
    [1, { canary: "1", batch: "1" }, "c1"],
    [1, { canary: "0", batch: "1" }, "1"],
    [2, { canary: "1", batch: "5" }, "c1 1"],
    [5, { canary: "1", batch: "2" }, "c1 2 2"],
    [10, { canary: "1", batch: "3" }, "c1 3 3 3"],
    [10, { canary: "0", batch: "3" }, "3 3 3 1"],
    [10, { canary: "2", batch: "25%" }, "c2 2 2 2 2"], // 25% of 10 = 2.5 -> 2
    [10, { canary: "10%", batch: "50%" }, "c1 5 4"],
    [3, { canary: "5", batch: "1" }, "c3"], // canary larger than the group: all hosts are canaries
    [3, { canary: "100%", batch: "1" }, "c3"],
    [7, { canary: "1", batch: "1%" }, "c1 1 1 1 1 1 1"], // 1% of 7 rounds to 0 -> never below 1
    [7, { canary: "1%", batch: "99%" }, "c1 6"],
    [20, { canary: "1", batch: "1,5,20%" }, "c1 1 5 4 4 4 1"], // last entry repeats
    [100, { canary: "1", batch: "1,5,20%" }, "c1 1 5 20 20 20 20 13"],
    [100, { canary: "0", batch: "100%" }, "100"],
    [1000, { canary: "1", batch: "100" }, "c1 " + Array(9).fill(100).join(" ") + " 99"],
    [1000, { canary: "1%", batch: "10%" }, "c10 " + Array(9).fill(100).join(" ") + " 90"],
    [1000, { canary: "0", batch: "1,10,50%" }, "1 10 500 489"],
    [0, { canary: "1", batch: "1" }, ""],
  ];
  for (const [n, text, expected] of cases) assert.equal(sizes(n, text), expected, `${n} hosts, ${JSON.stringify(text)}`);
});

test("planner: preferred canaries first, in order, then inventory order; every host exactly once", () => {
  const { policy } = applyPolicyText(DEFAULT_POLICY, { canary: "2", batch: "2" }, (f) => f);
  const plan = planRollout(hosts(6), ["h5", "nothere", "h5", "h2"], policy);
  assert.deepEqual(plan.batches.map((b) => b.hosts), [["h5", "h2"], ["h1", "h3"], ["h4", "h6"]]);
  assert.equal(plan.batches[0]!.canary, true);
  const one = planRollout(hosts(6), ["h6"], applyPolicyText(DEFAULT_POLICY, { canary: "3" }, (f) => f).policy);
  assert.deepEqual(one.batches[0]!.hosts, ["h6", "h1", "h2"]);
  const all = one.batches.flatMap((b) => b.hosts).sort();
  assert.deepEqual(all, hosts(6).sort());
});

test("max failures: halt when failures exceed the allowance; canary failures always halt", () => {
  const plan = (mf: string, n: number) => planRollout(hosts(n), [], applyPolicyText(DEFAULT_POLICY, { max_failures: mf }, (f) => f).policy).maxFailures;
  assert.equal(plan("0", 10), 0);
  assert.equal(plan("1", 10), 1);
  assert.equal(plan("10%", 10), 1);
  assert.equal(plan("25%", 10), 2);
  assert.equal(shouldHalt(0, 0, false), false);
  assert.equal(shouldHalt(1, 0, false), true, "default 0: the first failure halts");
  assert.equal(shouldHalt(1, 1, false), false, "one failure allowed goes on");
  assert.equal(shouldHalt(2, 1, false), true, "a second halts");
  assert.equal(shouldHalt(1, 5, true), true);
});

test("bad policy text is reported per field with what is allowed", () => {
  const { problems } = applyPolicyText(DEFAULT_POLICY, { canary: "-1", batch: "0", max_failures: "lots", bake: "soon", pause: "5x" }, (f) => `--${f.replace("_", "-")}`);
  assert.deepEqual(problems.map((p) => p.split(":")[0]), ["--canary", "--batch", "--max-failures", "--bake", "--pause"]);
  assert.match(problems[1]!, /each entry at least 1/);
});

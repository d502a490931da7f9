// The pure parts of the preflight, the approval gate, resume's remainder and the CLI's words:
// what a host's answers mean, when a rollout is refused or goes on, how the rest is re-batched.
import assert from "node:assert/strict";
import { test } from "node:test";
import { status, type ServiceError } from "@grpc/grpc-js";
import { AgentCallError } from "../../common/agent-call-error.js";
import { grpcMessage } from "../../common/grpc-message.js";
import { inspectHost, judge, type HostInspection } from "../../controller/agents/inspect-host.js";
import type { AgentClient } from "../../common/agent-client.js";
import type { StepRecord } from "../../controller/history/history-store.js";
import { ApprovalGate } from "../../controller/rollout/approval-gate.js";
import { decidePreflight, hostVerdict, preflightWant, type PreflightFailure } from "../../controller/rollout/preflight.js";
import { planRemainder } from "../../controller/rollout/remainder-plan.js";
import type { RolloutSettings } from "../../controller/rollout/rollout-executor.js";
import { socketPermissionHint } from "../../cli/controller-client.js";
import { rolloutExitCode } from "../../cli/follow-rollout.js";
import type { DescribeResponse, ServiceStatus } from "../../proto/gen/fleet/agent/v1/agent.js";

const callError = (code: status, details: string) => new AgentCallError("h:1", "Describe", { code, details, message: details } as ServiceError);
const describe = (services: { name: string; configPaths?: string[] }[]): PromiseSettledResult<DescribeResponse> => ({
  status: "fulfilled",
  value: { agentVersion: "1", hostname: "web1", runAsUser: "root", services: services.map((s) => ({ name: s.name, reloadMethod: "", reloadSummary: "", hasCheck: false, generation: "", configPaths: s.configPaths ?? [], healthProbes: [], allowRestart: false })) },
});
const svc = (over: Partial<ServiceStatus> = {}): PromiseSettledResult<{ hostname: string; services: ServiceStatus[] }> => ({
  status: "fulfilled",
  value: { hostname: "web1", services: [{ name: "web", running: true, healthy: true, main: undefined, workerPids: [], listenSocketInodes: [], probes: [], configs: [], error: "", evidence: "", ...over }] },
});
const rejected = (err: unknown): PromiseSettledResult<never> => ({ status: "rejected", reason: err });

test("a host's answers -> its state: unreachable, denied, not declared, not running, unhealthy, up", () => {
  const table: [string, HostInspection, string][] = [
    ["unreachable", judge("web", rejected(callError(status.UNAVAILABLE, "No connection established. Resolution note: ")), rejected(callError(status.UNAVAILABLE, "x"))), "unreachable"],
    ["a deadline is unreachable too", judge("web", rejected(callError(status.DEADLINE_EXCEEDED, "deadline")), rejected(callError(status.DEADLINE_EXCEEDED, "deadline"))), "unreachable"],
    ["wrong token", judge("web", rejected(callError(status.UNAUTHENTICATED, "wrong bearer token")), rejected(callError(status.UNAUTHENTICATED, "wrong bearer token"))), "denied"],
    ["Describe not allowed, Status allowed", judge("web", rejected(callError(status.PERMISSION_DENIED, "tls.allow")), svc()), "up"],
    ["not declared", judge("web", describe([{ name: "redis" }]), rejected(callError(status.PERMISSION_DENIED, "not declared"))), "not_declared"],
    ["not running", judge("web", describe([{ name: "web" }]), svc({ running: false, healthy: false })), "not_running"],
    ["unhealthy", judge("web", describe([{ name: "web" }]), svc({ healthy: false, error: "503" })), "unhealthy"],
    ["up", judge("web", describe([{ name: "web" }]), svc()), "up"],
    ["running_only: health was not asked, running is up", judge("web", undefined, svc({ healthy: false }), true), "up"],
    ["running_only: not running", judge("web", undefined, svc({ running: false, healthy: false }), true), "not_running"],
  ];
  for (const [what, inspection, state] of table) assert.equal(inspection.state, state, what);
  assert.equal(table[0]![1].problem, "No connection established", "gRPC's empty resolution note is not repeated");
  assert.match(table[4]![1].problem, /service web is not declared on this agent; declared: redis/);
});

test("Status alone decides a host it answers for: its state, host name and every declared config path", () => {
  const only = judge("web", undefined, svc({ configs: [{ path: "/etc/web.conf", exists: true, sha256: "a", size: 1 }, { path: "/etc/site.conf", exists: false, sha256: "", size: 0 }] }));
  assert.deepEqual([only.state, only.hostname, only.configPaths], ["up", "web1", ["/etc/web.conf", "/etc/site.conf"]]);
  assert.equal(judge("web", undefined, svc({ running: false, healthy: false })).state, "not_running");
  assert.equal(judge("web", undefined, rejected(callError(status.UNAVAILABLE, "down"))).state, "unreachable");
  assert.equal(judge("web", undefined, rejected(callError(status.INTERNAL, "boom"))).state, "not_running");
  // An answer about another service is never taken for the one asked about.
  const other = judge("web", undefined, { status: "fulfilled", value: { hostname: "web1", services: [{ ...(svc() as PromiseFulfilledResult<{ services: ServiceStatus[] }>).value.services[0]!, name: "redis" }] } });
  assert.equal(other.state, "not_declared");
});

test("inspecting a host costs one Status call; Describe is asked only after a refusal, to tell an undeclared service from refused credentials", async () => {
  const calls: string[] = [];
  const agent = (statusAnswer: () => Promise<{ hostname: string; services: ServiceStatus[] }>, declared: string[] | Error): AgentClient =>
    ({
      address: "h:1",
      status: (service: string, o: { deadlineMs?: number }) => (calls.push(`Status ${service} ${o.deadlineMs}`), statusAnswer()),
      describe: (o: { deadlineMs?: number }) => {
        calls.push(`Describe ${o.deadlineMs}`);
        if (declared instanceof Error) return Promise.reject(declared);
        return Promise.resolve((describe(declared.map((name) => ({ name }))) as PromiseFulfilledResult<DescribeResponse>).value);
      },
    }) as unknown as AgentClient;
  const up = agent(async () => (svc({ configs: [{ path: "/etc/web.conf", exists: true, sha256: "a", size: 1 }] }) as PromiseFulfilledResult<{ hostname: string; services: ServiceStatus[] }>).value, ["web"]);
  const i = await inspectHost(() => up, "web", 700);
  assert.deepEqual([i.state, i.configPaths], ["up", ["/etc/web.conf"]]);
  assert.deepEqual(calls.splice(0), ["Status web 700"]);

  const down = agent(() => Promise.reject(callError(status.UNAVAILABLE, "connection refused")), ["web"]);
  assert.equal((await inspectHost(() => down, "web", 700)).state, "unreachable");
  assert.deepEqual(calls.splice(0), ["Status web 700"], "an unreachable agent is not asked twice");

  const undeclared = agent(() => Promise.reject(callError(status.PERMISSION_DENIED, 'service "nosuch" is not declared')), ["web", "redis"]);
  const n = await inspectHost(() => undeclared, "nosuch", 700);
  assert.equal(n.state, "not_declared");
  assert.match(n.problem, /service nosuch is not declared on this agent; declared: web, redis/);
  assert.deepEqual(calls.splice(0), ["Status nosuch 700", "Describe 700"]);

  // Status refused for a declared service (tls.allow without Status): denied, never up.
  const refused = agent(() => Promise.reject(callError(status.PERMISSION_DENIED, "Status not allowed")), ["web"]);
  assert.equal((await inspectHost(() => refused, "web", 700)).state, "denied");
  const wrongToken = agent(() => Promise.reject(callError(status.UNAUTHENTICATED, "wrong bearer token")), callError(status.UNAUTHENTICATED, "wrong bearer token"));
  assert.equal((await inspectHost(() => wrongToken, "web", 700)).state, "denied");
  assert.deepEqual(calls.splice(0), ["Status web 700", "Describe 700", "Status web 700", "Describe 700"]);
});

test("a verdict per host: what the rollout needs of it", () => {
  const up: HostInspection = { state: "up", problem: "", hostname: "w", configPaths: ["/etc/web.conf"] };
  assert.equal(hostVerdict("a", up, { service: "web" }), undefined);
  assert.equal(hostVerdict("a", { ...up, state: "unhealthy", problem: "503" }, { service: "web" }), undefined, "an unhealthy service may be what the rollout fixes");
  assert.equal(hostVerdict("a", up, { service: "web", configPaths: ["/etc/web.conf"] }), undefined);
  assert.deepEqual(hostVerdict("a", up, { service: "web", configPaths: ["/etc/other.conf"] }), { host: "a", outcome: "refused", problem: "/etc/other.conf is not a config path of service web on this agent; declared: /etc/web.conf" });
  // A config set: every path must be declared; the verdict names each one that is not, and the host by its name.
  const set = { ...up, configPaths: ["/etc/web.conf", "/etc/site.conf"] };
  assert.equal(hostVerdict("10.0.0.1:7601", set, { service: "web", configPaths: ["/etc/web.conf", "/etc/site.conf"] }, "web1"), undefined);
  assert.deepEqual(hostVerdict("10.0.0.1:7601", set, { service: "web", configPaths: ["/etc/web.conf", "/etc/a.conf", "/etc/b.conf"] }, "web1"), {
    host: "10.0.0.1:7601",
    name: "web1",
    outcome: "refused",
    problem: "/etc/a.conf, /etc/b.conf are not config paths of service web on this agent; declared: /etc/web.conf, /etc/site.conf",
  });
  assert.equal(hostVerdict("a", { ...up, state: "unreachable", problem: "gone" }, { service: "web" })?.outcome, "unreachable");
  assert.equal(hostVerdict("a", { ...up, state: "denied", problem: "no" }, { service: "web" })?.outcome, "refused");
  assert.equal(hostVerdict("a", { ...up, state: "not_declared", problem: "no" }, { service: "web" })?.outcome, "refused");
  assert.equal(hostVerdict("a", { ...up, state: "not_running", problem: "stopped" }, { service: "web" })?.outcome, "not_running");
});

test("the decision: refuse with the whole list, unless tolerated within max failures and allowed; a canary must pass", () => {
  const fail = (host: string): PreflightFailure => ({ host, outcome: "unreachable", problem: "connection refused" });
  const rule = { maxFailures: 1, allowFailures: true, canaries: ["c"], alreadyFailed: 0 };
  const passed = decidePreflight(3, [], rule);
  assert.deepEqual([passed.refused, passed.tolerated, passed.summary], [false, false, "3 of 3 hosts ready"]);
  const tolerated = decidePreflight(3, [fail("b")], rule);
  assert.deepEqual([tolerated.refused, tolerated.tolerated], [false, true]);
  const notAllowed = decidePreflight(3, [fail("b")], { ...rule, allowFailures: false });
  assert.equal(notAllowed.refused, true);
  assert.match(notAllowed.summary, /1 host failed it \(--allow-preflight-failures goes on with it recorded as failed, within --max-failures 1\); no host was touched — b: unreachable \(connection refused\)/);
  const tooMany = decidePreflight(4, [fail("b"), fail("d")], rule);
  assert.equal(tooMany.refused, true);
  assert.match(tooMany.summary, /^2 of 4 hosts ready; 2 hosts failed it, more than the allowed 1 .*b: unreachable .*d: unreachable/);
  assert.equal(decidePreflight(3, [fail("b")], { ...rule, alreadyFailed: 1 }).refused, true, "earlier failures count too");
  const canary = decidePreflight(3, [fail("c")], rule);
  assert.equal(canary.refused, true);
  assert.match(canary.summary, /canary c failed it, and a canary must pass/);  const named = decidePreflight(3, [{ ...fail("c"), name: "web-canary" }, { ...fail("b"), name: "web2" }], rule);
  assert.match(named.summary, /canary web-canary failed it.*web-canary: unreachable .*web2: unreachable/, "reports name hosts by their inventory names");
});

test("what a rollout needs of every host: its service, and every path of a config set", () => {
  assert.deepEqual(preflightWant({ kind: "reload", service: "web" }), { service: "web" });
  assert.deepEqual(preflightWant({ kind: "config", service: "web", configPath: "/a, /b", files: [{ path: "/a" }, { path: "/b" }] }), { service: "web", configPaths: ["/a", "/b"] });
  assert.deepEqual(preflightWant({ kind: "config", service: "web", configPath: "/a" }), { service: "web", configPaths: ["/a"] }, "a rollout recorded before sets: its one file");
});

test("the approval gate: promote releases it with who approved; a stop releases it with nobody; promote without a waiter is refused", async () => {
  const gate = new ApprovalGate();
  assert.equal(gate.approve("alice"), false);
  const stop = new AbortController();
  const waiting = gate.wait(stop.signal);
  assert.equal(gate.isWaiting, true);
  assert.equal(gate.approve("alice"), true);
  assert.equal(await waiting, "alice");
  assert.equal(gate.isWaiting, false);
  const stopped = gate.wait(stop.signal);
  stop.abort();
  assert.equal(await stopped, undefined);
  assert.equal(await gate.wait(stop.signal), undefined, "an already stopped run does not wait");
});

const step = (host: string, batch: number, status: StepRecord["status"], canary = false, position = 0): StepRecord => ({
  rolloutId: 1, host, hostName: host, files: [], diff: "", batch, canary, position, status, outcome: "", ok: status === "done", reason: "", evidence: "", probesSent: 0, probesFailed: 0, probesRefused: 0, startedAt: null, finishedAt: null, previousSha256: "", newSha256: "", targetSha256: "",
});
const settings: RolloutSettings = { kind: "reload", service: "web", maxFailures: 0, bakeMs: 0, pauseMs: 5000, allowRestart: false, policyText: "canary 1, batch 1, max failures 0, bake 0ms, pause 5000ms" };

test("resume's remainder: as recorded, or cut anew after the batches done; the new pacing is recorded", () => {
  const steps = [step("c", 0, "done", true, 0), step("a", 1, "done", false, 1), step("b", 2, "running", false, 2), step("d", 3, "pending", false, 3), step("e", 4, "pending", false, 4)];
  const same = planRemainder(steps, settings, {});
  assert.deepEqual(same.batches.map((b) => [b.index, b.hosts]), [[2, ["b"]], [3, ["d"]], [4, ["e"]]]);
  assert.equal(same.note, "");
  assert.equal(same.hostsLeft, 3);
  const cut = planRemainder(steps, settings, { batch: [{ kind: "count", n: 2 }], pauseMs: 0 });
  assert.deepEqual(cut.batches.map((b) => [b.index, b.hosts]), [[2, ["b", "d"]], [3, ["e"]]]);
  assert.equal(cut.settings.pauseMs, 0);
  assert.equal(cut.settings.policyText, `${settings.policyText}; remainder: batch 2, pause 0ms`);
  assert.equal(cut.note, "resumed with batch 2, pause 0ms for the 3 remaining hosts");
  const again = planRemainder(steps, cut.settings, { bakeMs: 1000 });
  assert.equal(again.settings.policyText, `${settings.policyText}; remainder: bake 1000ms`, "a later resume replaces the remainder note");
  const canaryLeft = planRemainder([step("c", 0, "pending", true, 0), step("a", 1, "pending", false, 1), step("b", 1, "pending", false, 2)], settings, { batch: [{ kind: "count", n: 1 }] });
  assert.deepEqual(canaryLeft.batches.map((b) => [b.index, b.canary, b.hosts]), [[0, true, ["c"]], [1, false, ["a"]], [2, false, ["b"]]], "canaries keep their batch");
});

test("the CLI's words: exit codes of a rollout's end, the socket permission hint, gRPC text", () => {
  const refused = (outcome: string) => ({ preflight: { ran: true, hostsChecked: 2, refused: true, tolerated: false, summary: "", failed: [{ host: "a", outcome, problem: "" }] } }) as never;
  assert.equal(rolloutExitCode("succeeded", undefined), 0);
  assert.equal(rolloutExitCode("failed", refused("unreachable")), 3);
  assert.equal(rolloutExitCode("failed", refused("refused")), 1);
  assert.equal(rolloutExitCode("aborted", undefined), 1);
  assert.equal(rolloutExitCode("interrupted", undefined), 1);
  assert.match(socketPermissionHint("/run/fleet/controller.sock", { socket_group: "fleet-ops", read_socket: "unix:/run/fleet/read.sock", read_group: "fleet-readers" }), /permission denied for user \S+; members of group fleet-ops may connect \(controller\.socket_group\); for status, history and show, members of group fleet-readers may use unix:\/run\/fleet\/read\.sock/);
  assert.match(socketPermissionHint("/run/fleet/controller.sock", {}), /only root may connect \(controller\.socket_group is not set\)/);
  assert.match(socketPermissionHint("/run/fleet/read.sock", { read_socket: "unix:/run/fleet/read.sock", read_group: "fleet-readers" }), /members of group fleet-readers may connect to this read-only socket/);
  assert.match(socketPermissionHint("/x.sock", undefined), /controller\.socket_group in \/etc\/fleet\/fleet\.yaml names the group/);
  assert.equal(grpcMessage({ details: "No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: " }), "No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1");
});

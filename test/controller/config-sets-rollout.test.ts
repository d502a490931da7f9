// Config sets through the controller and the real CLI to three real nginx
// hosts, each under the real fleet-agent in its own mount namespace: a set
// checked together (nginx.conf + an included site file), a certificate and
// key rotated as one set (openssl s_client sees the new one), per-host
// templates (and a template refused before any host is touched), dry-run
// diffs, and drift (status, fleet drift, a schedule that restores only the
// drifted host).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { nginxMissing } from "../helpers/nginx.js";
import { livePath, makeCert, setNginxConf, siteConf, startNginxSetHost, type NginxSetHost, SET_FILES } from "../helpers/nginx-set-host.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const skip = nginxMissing ?? (process.getuid?.() !== 0 ? "needs root for mount namespaces (CI runs as root)" : undefined);
if (skip) console.log(`# skipping config set rollout tests: ${skip}`);

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const NAMES = ["web1", "web2", "web3"];

/** The certificate nginx serves on `port`, as openssl s_client receives it: its SHA-256 fingerprint. */
function servedFingerprint(port: number): string {
  const r = spawnSync("/usr/bin/openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost"], { input: "", timeout: 15_000, encoding: "utf8" });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  assert.ok(pem, `openssl s_client got no certificate from port ${port}: ${r.stdout}${r.stderr}`);
  return new X509Certificate(pem).fingerprint256;
}

describe("config sets to three nginx hosts", { skip }, () => {
  const scratch = scratchDir();
  let hosts: NginxSetHost[] = [];
  let controller: ControllerHarness;
  let env: Record<string, string>;
  let certs: Record<"v1" | "v2" | "v3", { cert: string; key: string }>;
  const scheduleSource = path.join(scratch.dir, "schedule-site.conf");

  const local = (name: string, content: string | Buffer) => {
    const file = path.join(scratch.dir, `${name}-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, content);
    return file;
  };
  const fleet = async (...args: string[]) => {
    const r = await runFleet([...args], env);
    // NDJSON streams and lists; `show --json` is one pretty-printed object (parse its stdout instead).
    const events = args.includes("--json") && args[0] !== "show" ? r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
    return { ...r, events };
  };
  const snapshot = () => hosts.map((h) => Object.keys(SET_FILES).map((k) => h.read(k as keyof typeof SET_FILES)));
  const workers = () => Promise.all(hosts.map((h) => h.workers()));
  const historyCount = async () => (await fleet("history", "--json", "--limit", "1000")).events.length;
  const rolloutState = async (id: number) => JSON.parse((await fleet("show", String(id), "--json")).stdout).rollout.state as string;

  before(async () => {
    certs = { v1: makeCert(scratch.dir, "v1"), v2: makeCert(scratch.dir, "v2"), v3: makeCert(scratch.dir, "v3") };
    hosts = [];
    for (const name of NAMES) hosts.push(await startNginxSetHost(path.join(scratch.dir, name), certs.v1));
    writeFileSync(scheduleSource, siteConf("site-v2"));
    const [a1, a2, a3] = hosts.map((h) => h.agent.address);
    const groups = `  web:
    service: nginx
    vars: { weight: 1 }
    hosts:
      web1: { address: ${a1}, vars: { weight: 3, only_web1: here }, labels: { zone: a } }
      web2: { address: ${a2}, labels: { zone: a } }
      web3: { address: ${a3}, vars: { weight: 5 }, labels: { zone: b } }
    canary: [web1]
    policy: { canary: 1, batch: 1 }
`;
    const schedules = `schedules:\n  - { name: site, cron: "0 0 1 1 *", group: web, config: [{ source: ${scheduleSource}, path: ${livePath("site")} }] }\n`;
    controller = await startController(writeInventory(scratch.dir, groups, schedules));
    env = { FLEET_CONTROLLER: controller.address };
  });
  after(async () => {
    await controller?.stop();
    for (const h of hosts) await h.stop();
    scratch.remove();
  });

  test("nginx.conf + a broken included site file: the canary is rejected, every live file byte-identical, no nginx signalled; fixed, every host serves the new site", async () => {
    const before = snapshot();
    const w = await workers();
    const conf = local("nginx.conf", setNginxConf("v2"));
    const broken = local("site.conf", siteConf("site-v2").replace("return", "bogus_directive on; return"));
    const r = await fleet("rollout", "web", "--file", `${conf}:${livePath("conf")}`, "--file", `${broken}:${livePath("site")}`, "--json", "--yes");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const done = r.events.filter((e) => e.kind === "host_finished");
    assert.deepEqual(done.map((e) => [e.host, e.outcome]), [["web1", "rejected"]], "only the canary was tried, by name");
    assert.match(done[0].message, /unknown directive "bogus_directive"/);
    assert.deepEqual(snapshot(), before, "every file of every host byte-identical");
    assert.deepEqual(await workers(), w, "no nginx was signalled");

    const fixed = local("site.conf", siteConf("site-v2"));
    const ok = await fleet("rollout", "web", "--file", `${conf}:${livePath("conf")}`, "--file", `${fixed}:${livePath("site")}`, "--json", "--yes");
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.deepEqual(ok.events.filter((e) => e.kind === "host_finished").map((e) => [e.host, e.outcome]), NAMES.map((n) => [n, "reloaded"]));
    for (const h of hosts) {
      assert.equal((await h.get("/site")).body, "site-v2\n");
      assert.ok(h.read("conf").equals(readFileSync(conf)) && h.read("site").equals(readFileSync(fixed)));
    }
    const id = ok.events.find((e) => e.kind === "plan").rolloutId;
    const shown = JSON.parse((await fleet("show", String(id), "--json")).stdout);
    assert.deepEqual(shown.steps.map((s: { host: string; address: string }) => [s.host, s.address]), NAMES.map((n, i) => [n, hosts[i]!.agent.address]), "history steps carry name and address");
    assert.deepEqual(
      shown.steps[0].files.map((f: { path: string; targetSha256: string; newSha256: string; previousSha256: string }) => [f.path, f.previousSha256, f.newSha256, f.targetSha256]),
      [
        [livePath("conf"), sha(before[0]![0]!), sha(readFileSync(conf)), sha(readFileSync(conf))],
        [livePath("site"), sha(before[0]![1]!), sha(readFileSync(fixed)), sha(readFileSync(fixed))],
      ],
      "each path's previous and new hash recorded on the step",
    );
    const withDiff = await fleet("show", String(id), "--diff");
    assert.match(withDiff.stdout, /=== web1 \(127\.0\.0\.1:\d+\): reloaded/);
    assert.match(withDiff.stdout, /^ {4}-location = \/site \{ return 200 "site-v1\\n"; \}$/m, "the applied diff is kept");
    assert.match(withDiff.stdout, /^ {4}\+location = \/site \{ return 200 "site-v2\\n"; \}$/m);
  });

  test("a certificate and key rotated as one set: every host serves the new certificate; the new certificate with the old key fails the check and changes nothing", async () => {
    const v1 = new X509Certificate(readFileSync(certs.v1.cert)).fingerprint256;
    const v2 = new X509Certificate(readFileSync(certs.v2.cert)).fingerprint256;
    for (const h of hosts) assert.equal(servedFingerprint(h.tlsPort), v1);
    const r = await fleet("rollout", "web", "--file", `${certs.v2.cert}:${livePath("cert")}`, "--file", `${certs.v2.key}:${livePath("key")}`, "--json", "--yes");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const h of hosts) assert.equal(servedFingerprint(h.tlsPort), v2, "openssl s_client sees the new certificate");

    const before = snapshot();
    const w = await workers();
    const mismatched = await fleet("rollout", "web", "--file", `${certs.v3.cert}:${livePath("cert")}`, "--json", "--yes");
    assert.equal(mismatched.code, 1);
    const done = mismatched.events.filter((e) => e.kind === "host_finished");
    assert.deepEqual(done.map((e) => [e.host, e.outcome]), [["web1", "rejected"]]);
    assert.match(done[0].message, /key values mismatch|does not match/i);
    assert.deepEqual(snapshot(), before, "nothing changed anywhere");
    assert.deepEqual(await workers(), w, "no nginx was signalled");
    for (const h of hosts) assert.equal(servedFingerprint(h.tlsPort), v2);
  });

  test("a template renders per host from its vars and name, each host serves its own; an undefined variable is refused before any host is touched, naming every host and the variable", async () => {
    const template = local("weight.liquid", 'location = /weight { return 200 "{{ host.name }} zone={{ labels.zone }} weight={{ vars.weight }}\\n"; }\n');
    const dry = await fleet("rollout", "web", "--template", `${template}:${livePath("weight")}`, "--dry-run");
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    for (const [name, zone, weight] of [["web1", "a", 3], ["web2", "a", 1], ["web3", "b", 5]] as const) {
      const block = dry.stdout.split("=== ").find((b) => b.startsWith(`${name} `));
      assert.ok(block, `a diff for ${name}:\n${dry.stdout}`);
      assert.match(block, /^--- .*weight\.conf/m);
      assert.match(block, /^\+\+\+ .*weight\.conf/m);
      assert.match(block, /^@@ -1(,1)? \+1(,1)? @@$/m);
      assert.match(block, /^-location = \/weight \{ return 200 "none\\n"; \}$/m);
      assert.ok(block.includes(`+location = /weight { return 200 "${name} zone=${zone} weight=${weight}\\n"; }`), block);
    }
    const r = await fleet("rollout", "web", "--template", `${template}:${livePath("weight")}`, "--json", "--yes");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await Promise.all(hosts.map(async (h) => (await h.get("/weight")).body)), ["web1 zone=a weight=3\n", "web2 zone=a weight=1\n", "web3 zone=b weight=5\n"]);

    const before = snapshot();
    const w = await workers();
    const count = await historyCount();
    const bad = local("bad.liquid", 'location = /weight { return 200 "{{ vars.only_web1 }}"; }\n');
    const refused = await fleet("rollout", "web", "--template", `${bad}:${livePath("weight")}`, "--file", `${local("site", siteConf("x"))}:${livePath("site")}`, "--yes");
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /nothing was started: 2 template problems/);
    for (const name of ["web2", "web3"]) assert.match(refused.stderr, new RegExp(`host ${name} \\(127\\.0\\.0\\.1:\\d+\\), template ${livePath("weight").replace(/[.]/g, "\\.")}: undefined variable: vars\\.only_web1`));
    assert.doesNotMatch(refused.stderr, /host web1 /, "web1 defines it");
    assert.equal(await historyCount(), count, "nothing recorded");
    assert.deepEqual(snapshot(), before);
    assert.deepEqual(await workers(), w);
  });

  test("--dry-run shows each host's unified diff; a hand-edited file shows as drifted in status and fleet drift; the next schedule run restores it on that host only", async () => {
    // Fleet installs the schedule's source everywhere (already there: unchanged), which records success.
    const first = JSON.parse((await fleet("schedule", "run", "site", "--json")).stdout);
    assert.equal(first.run.outcome, "started", first.message);
    await waitFor("the first schedule run", async () => (await rolloutState(first.run.rolloutId)) !== "running");
    assert.equal(await rolloutState(first.run.rolloutId), "succeeded");
    assert.equal((await fleet("drift", "web")).code, 0);

    const next = local("site.conf", siteConf("site-v3"));
    const dry = await fleet("rollout", "web", "--file", `${next}:${livePath("site")}`, "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal((dry.stdout.match(/^=== web\d /gm) ?? []).length, 3, dry.stdout);
    for (const name of NAMES) {
      const block = dry.stdout.slice(dry.stdout.indexOf(`=== ${name} `));
      assert.match(block, /^-location = \/site \{ return 200 "site-v2\\n"; \}\n\+location = \/site \{ return 200 "site-v3\\n"; \}$/m, `${name}'s diff`);
    }
    assert.ok(hosts.every((h) => h.read("site").equals(Buffer.from(siteConf("site-v2")))), "a dry run changes nothing");

    const w = await workers();
    const byHand = siteConf("edited-by-hand");
    writeFileSync(hosts[1]!.file("site"), byHand);
    const status = await fleet("status", "web");
    const line = (name: string) => status.stdout.split("\n").find((l) => l.includes(`${name} (`)) ?? "";
    assert.match(line("web2"), new RegExp(`site\\.conf=${sha(byHand).slice(0, 12)} DRIFTED \\(fleet installed ${sha(siteConf("site-v2")).slice(0, 12)}\\)`));
    assert.doesNotMatch(line("web1") + line("web3"), /DRIFTED/);
    const drift = await fleet("drift", "web", "--json");
    assert.equal(drift.code, 1, drift.stdout + drift.stderr);
    assert.deepEqual(drift.events, [{ group: "web", host: "web2", address: hosts[1]!.agent.address, path: livePath("site"), live: sha(byHand), desired: sha(siteConf("site-v2")) }]);
    assert.match((await fleet("drift", "web")).stdout, /web\s+web2\s+\S*site\.conf\s+[0-9a-f]{12}\s+[0-9a-f]{12}/);

    const run = JSON.parse((await fleet("schedule", "run", "site", "--json")).stdout);
    assert.equal(run.run.outcome, "started", run.message);
    assert.match(run.run.reason, /drifted \(drift on web2 \(.*site\.conf\)\)/);
    await waitFor("the drift run", async () => (await rolloutState(run.run.rolloutId)) !== "running");
    const shown = JSON.parse((await fleet("show", String(run.run.rolloutId), "--json")).stdout);
    assert.equal(shown.rollout.state, "succeeded");
    assert.deepEqual(shown.steps.map((s: { host: string; outcome: string }) => [s.host, s.outcome]), [["web2", "reloaded"]], "only the drifted host");
    assert.ok(hosts[1]!.read("site").equals(Buffer.from(siteConf("site-v2"))), "restored");
    const after = await workers();
    assert.deepEqual([after[0], after[2]], [w[0], w[2]], "the other hosts were not signalled");
    assert.notDeepEqual(after[1], w[1], "web2 was reloaded");
    assert.equal((await fleet("drift", "web")).code, 0);
    const unchanged = JSON.parse((await fleet("schedule", "run", "site", "--json")).stdout);
    assert.equal(unchanged.run.outcome, "unchanged");

    const forced = JSON.parse((await fleet("schedule", "run", "site", "--force", "--json")).stdout);
    assert.equal(forced.run.outcome, "started", "--force pushes although nothing changed");
    await waitFor("the forced run", async () => (await rolloutState(forced.run.rolloutId)) !== "running");
    const f = JSON.parse((await fleet("show", String(forced.run.rolloutId), "--json")).stdout);
    assert.deepEqual(f.steps.map((s: { host: string; outcome: string }) => [s.host, s.outcome]), NAMES.map((n) => [n, "unchanged"]), "every host, each an agent no-op");
  });

  test("a set that passes the check but leaves nginx unhealthy: the canary gets its whole previous set back, recorded as one linked rollback entry", async () => {
    const before = snapshot();
    const conf = local("nginx.conf", setNginxConf("unhealthy").replace('location = /healthz { return 200 "ok\\n"; }', "location = /healthz { return 500; }"));
    const site = local("site.conf", siteConf("site-v4"));
    const r = await fleet("rollout", "web", "--file", `${conf}:${livePath("conf")}`, "--file", `${site}:${livePath("site")}`, "--json", "--yes");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.deepEqual(r.events.filter((e) => e.kind === "host_finished").map((e) => [e.host, e.outcome]), [["web1", "unhealthy"]]);
    const rb = r.events.find((e) => e.kind === "rollback");
    assert.equal(rb.ok, true, rb.message);
    assert.equal(rb.host, "web1");
    assert.deepEqual(snapshot(), before, "web1's whole set is back; the others were never touched");
    assert.equal((await hosts[0]!.get("/healthz")).status, 200);
    const id = r.events.find((e) => e.kind === "plan").rolloutId;
    const shown = JSON.parse((await fleet("show", String(id), "--json")).stdout);
    assert.equal(shown.linked.length, 1);
    assert.equal(shown.linked[0].rollout.kind, "rollback");
    assert.deepEqual(
      shown.linked[0].steps[0].files.map((f: { path: string; targetSha256: string }) => [f.path, f.targetSha256]),
      [[livePath("conf"), sha(before[0]![0]!)], [livePath("site"), sha(before[0]![1]!)]],
      "the restore step records every file it puts back",
    );
    assert.equal((await fleet("drift", "web")).code, 0, "the restore is the desired state again");
  });

  test("--hosts by name and --select by label: the plan shows what was selected and why each other host was not", async () => {
    const sel = await fleet("reload", "web", "--select", "zone=a", "--hosts", "web*", "--dry-run");
    assert.equal(sel.code, 0, sel.stderr);
    assert.match(sel.stdout, /batch 0 \(canary\): web1\n/);
    assert.match(sel.stdout, /batch 1: web2\n/);
    assert.match(sel.stdout, /not selected: web3: label zone is b, not a/);
    const named = await fleet("reload", "web", "--hosts", "web3", "--dry-run");
    assert.match(named.stdout, /batch 0 \(canary\): web3\n/);
    assert.match(named.stdout, /not selected: web1: not matched by --hosts web3/);
    assert.match(named.stdout, /not selected: web2: not matched by --hosts web3/);
  });
});

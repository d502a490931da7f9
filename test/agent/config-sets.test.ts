// Config file sets against a real nginx: nginx.conf plus the site files it
// includes by absolute path. The check runs once against the whole staged set
// at the real paths (a private mount namespace), nothing live is touched when
// it fails, the set is installed and reloaded once, a failed reload can put
// every file back, and RollbackConfig restores a whole set (removing a file
// that did not exist).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { createAgentClient, type AgentCallError, type AgentClient } from "../../common/agent-client.js";
import { freePort } from "../../common/free-port.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { fixedMountNamespaces } from "../../agent/configs/mount-namespaces.js";
import { childrenOf, readProc } from "../../agent/process/proc-fs.js";
import { ConfigChange } from "../../proto/gen/fleet/agent/v1/agent.js";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { NGINX, nginxMissing, nginxPreamble } from "../helpers/nginx.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");
const notRoot = process.getuid?.() === 0 ? undefined : "mount namespaces need root";

/** nginx.conf including every file of sites/ inside its server block, by absolute path. */
function mainConf(dir: string, port: number, opts: { http?: string; healthz?: string } = {}) {
  return `${nginxPreamble(dir, 1, 64)}  ${opts.http ?? ""}
  server {
    listen 127.0.0.1:${port};
    location = /healthz { ${opts.healthz ?? 'return 200 "ok\\n";'} }
    include ${dir}/sites/*.conf;
  }
}
`;
}
const site = (body: string, extra = "") => `location = /site { ${extra}return 200 "${body}\\n"; }\n`;
/** Defines $fleet_v2: a site file that uses it is valid only together with this nginx.conf. */
const MAP_V2 = 'map $uri $fleet_v2 { default "mapped-v2"; }';

interface Web {
  dir: string;
  port: number;
  conf: string;
  site: string;
  extra: string;
  get(p: string): Promise<{ status: number; body: string }>;
  /** Master pid, its start time, and its workers: a HUP changes the workers; nothing else may. */
  signature(): Promise<string>;
  stop(): void;
}

async function startWeb(dir: string): Promise<Web> {
  mkdirSync(path.join(dir, "tmp"), { recursive: true });
  mkdirSync(path.join(dir, "sites"));
  const port = await freePort();
  const w: Web = {
    dir,
    port,
    conf: path.join(dir, "nginx.conf"),
    site: path.join(dir, "sites", "site.conf"),
    extra: path.join(dir, "sites", "extra.conf"),
    async get(p) {
      const r = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(2000) });
      return { status: r.status, body: await r.text() };
    },
    async signature() {
      const pid = Number(readFileSync(path.join(dir, "nginx.pid"), "utf8"));
      return JSON.stringify({ pid, start: (await readProc(pid))?.startTime, workers: await childrenOf(pid) });
    },
    stop() {
      try {
        process.kill(Number(readFileSync(path.join(dir, "nginx.pid"), "utf8")), "SIGQUIT");
      } catch {
        // already gone
      }
    },
  };
  writeFileSync(w.conf, mainConf(dir, port));
  writeFileSync(w.site, site("site-v1"));
  execFileSync(NGINX, ["-p", `${dir}/`, "-e", path.join(dir, "error.log"), "-c", w.conf], { stdio: "pipe", timeout: 10_000 });
  await waitFor("nginx to serve", async () => (await w.get("/healthz").catch(() => undefined))?.status === 200);
  return w;
}

function agentYaml(w: Web, state: string) {
  const service = (name: string, mode: string) => `  ${name}:
    reload: { signal: HUP, pidfile: ${w.dir}/nginx.pid }
    check: [${NGINX}, -t, -q, -p, "${w.dir}/", -e, ${w.dir}/error.log, -c, "{path}"]
    check_mode: ${mode}
    generation: workers
    generation_timeout: 5s
    healthy_for: 200ms
    health: [{ http: "http://127.0.0.1:${w.port}/healthz" }]
    configs:
      - { path: ${w.conf}, mode: "0644" }
      - { path: ${w.site}, mode: "0640" }
      - { path: ${w.extra} }
`;
  return `listen: 127.0.0.1:0
insecure: true
state_dir: ${state}
limits: { mutations_per_second: 1000 }
services:
${service("web", "staged")}${service("web-live", "live")}`;
}

describe("config file sets on a real nginx", { skip: nginxMissing ?? notRoot }, () => {
  const scratch = scratchDir("fleet-13a-");
  let w: Web;
  let agent: AgentHarness;
  let n = 0;
  const file = (p: string, content: string) => ({ path: p, content: Buffer.from(content), sha256: sha(content) });
  const push = (files: { path: string; content: Buffer; sha256: string }[], opts: { service?: string; restoreOnFailure?: boolean } = {}) =>
    agent.client.pushConfig({ requestId: `set-${++n}`, service: opts.service ?? "web", files, allowRestart: false, restoreOnFailure: opts.restoreOnFailure ?? false });
  const live = () => ({ conf: readFileSync(w.conf), site: readFileSync(w.site), extra: existsSync(w.extra) ? readFileSync(w.extra) : undefined });
  const leftovers = () => [w.dir, path.join(w.dir, "sites")].flatMap((d) => readdirSync(d).filter((f) => f.includes(".fleet-")));

  before(async () => {
    w = await startWeb(scratch.dir);
    mkdirSync(path.join(scratch.dir, "state"));
    agent = await startAgent(agentYaml(w, path.join(scratch.dir, "state")));
  });
  after(async () => {
    await agent?.stop();
    w?.stop();
    scratch.remove();
  });

  test("the included site file broken (only in the staged set): rejected at its real path; both live files byte-identical; nginx not signalled", async () => {
    const before = live();
    const sig = await w.signature();
    const r = await push([file(w.conf, mainConf(w.dir, w.port, { http: MAP_V2 })), file(w.site, site("site-v2", "bogus_directive on; "))]);
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_REJECTED, r.reason);
    assert.equal(r.ok, false);
    // The live site file is fine: nginx can only have read the staged one, and at the live path.
    assert.match(r.reason, new RegExp(`the check refused the new set of 2 files; no live file was touched: .*unknown directive "bogus_directive" in ${w.site}:1`));
    assert.doesNotMatch(r.reason, /fleet-staged/);
    assert.deepEqual(r.files.map((f) => [f.path, f.change]), [[w.conf, ConfigChange.CONFIG_CHANGE_REJECTED], [w.site, ConfigChange.CONFIG_CHANGE_REJECTED]]);
    assert.equal(r.path, "", "a set of two has no single path");
    assert.equal(r.reload, undefined);
    const after = live();
    assert.ok(after.conf.equals(before.conf) && after.site.equals(before.site), "live files byte-identical");
    assert.equal(await w.signature(), sig, "same master, same start time, same workers: nothing signalled");
    assert.deepEqual(leftovers(), [], "no staged file left");
    assert.equal((await w.get("/site")).body, "site-v1\n");
  });

  test("a site file that needs the new nginx.conf fails alone and passes with it: installed once, reloaded once, served", async () => {
    const alone = await push([file(w.site, site("$fleet_v2"))]);
    assert.equal(alone.change, ConfigChange.CONFIG_CHANGE_REJECTED);
    assert.match(alone.reason, /unknown "fleet_v2" variable/);
    assert.equal(alone.path, w.site, "a set of one reports its file at the top level too");

    const sig = await w.signature();
    const set = [file(w.conf, mainConf(w.dir, w.port, { http: MAP_V2 })), file(w.site, site("$fleet_v2"))];
    const r = await push(set);
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_INSTALLED, r.reason);
    assert.equal(r.ok, true, r.reason);
    assert.equal(outcomeToWord(r.reload!.outcome), "reloaded");
    assert.match(r.reason, /^installed 2 of 2 files; reloaded/);
    assert.deepEqual(r.files.map((f) => f.newSha256), set.map((f) => f.sha256));
    assert.ok(readFileSync(w.conf).equals(set[0]!.content) && readFileSync(w.site).equals(set[1]!.content));
    assert.equal((await import("node:fs")).statSync(w.site).mode & 0o777, 0o640, "the declared mode");
    assert.notEqual(await w.signature(), sig, "reloaded");
    assert.equal((await w.get("/site")).body, "mapped-v2\n");

    const sig2 = await w.signature();
    const again = await push(set);
    assert.equal(again.change, ConfigChange.CONFIG_CHANGE_UNCHANGED);
    assert.equal(again.ok, true);
    assert.match(again.reason, /all 2 files already have these hashes; nothing written, nothing reloaded/);
    assert.equal(await w.signature(), sig2, "unchanged: not signalled");
    assert.deepEqual(leftovers(), []);
  });

  test("a new file in the set is checked where it will be: broken, rejected and still absent; fixed, installed and served", async () => {
    const sig = await w.signature();
    const broken = await push([file(w.extra, 'location = /extra { bogus_extra on; return 200 "x\\n"; }\n')]);
    assert.equal(broken.change, ConfigChange.CONFIG_CHANGE_REJECTED, broken.reason);
    assert.match(broken.reason, new RegExp(`unknown directive "bogus_extra" in ${w.extra}:1`));
    assert.equal(existsSync(w.extra), false, "the new file was never created");
    assert.equal(await w.signature(), sig);
    assert.deepEqual(leftovers(), []);

    const good = await push([file(w.extra, 'location = /extra { return 200 "$fleet_v2 extra\\n"; }\n')]);
    assert.equal(good.ok, true, good.reason);
    assert.equal(good.files[0]!.previousSha256, "", "did not exist");
    assert.equal((await w.get("/extra")).body, "mapped-v2 extra\n");
  });

  test("RollbackConfig of the whole set: kept versions restored, the new file removed (and checked as absent), one reload", async () => {
    const v1conf = mainConf(w.dir, w.port);
    const v1site = site("site-v1");
    const sig = await w.signature();
    // extra.conf uses $fleet_v2, which the v1 nginx.conf lacks: the check passes only if it sees extra.conf gone.
    const r = await agent.client.rollbackConfig({
      requestId: `rb-${++n}`,
      service: "web",
      allowRestart: false,
      files: [
        { path: w.conf, sha256: sha(v1conf) },
        { path: w.site, sha256: sha(v1site) },
        { path: w.extra, sha256: "" },
      ],
    });
    assert.equal(r.ok, true, r.reason);
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_INSTALLED);
    assert.deepEqual(r.files.map((f) => f.newSha256), [sha(v1conf), sha(v1site), ""]);
    assert.equal(readFileSync(w.conf, "utf8"), v1conf);
    assert.equal(readFileSync(w.site, "utf8"), v1site);
    assert.equal(existsSync(w.extra), false);
    assert.notEqual(await w.signature(), sig);
    assert.equal((await w.get("/site")).body, "site-v1\n");
    assert.equal((await w.get("/extra")).status, 404);

    await assert.rejects(
      agent.client.rollbackConfig({ requestId: `rb-${++n}`, service: "web", allowRestart: false, files: [{ path: w.conf, sha256: "0".repeat(64) }, { path: w.site, sha256: sha(v1site) }] }),
      (e: AgentCallError) => e.code === status.FAILED_PRECONDITION && e.message.includes(`version 000000000000 of ${w.conf} is not kept`),
    );
  });

  test("a reload that fails after the install (unhealthy): restore_on_failure puts every file back and reloads again", async () => {
    const before = live();
    const sig = await w.signature();
    const set = [file(w.conf, mainConf(w.dir, w.port, { healthz: 'return 500 "broken\\n";' })), file(w.site, site("site-v3"))];
    const r = await push(set, { restoreOnFailure: true });
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_INSTALLED);
    assert.equal(r.ok, false);
    assert.equal(outcomeToWord(r.reload!.outcome), "unhealthy", r.reason);
    assert.equal(r.restored, true);
    assert.equal(outcomeToWord(r.restoreReload!.outcome), "reloaded", r.reason);
    assert.match(r.reason, /every file of the set was restored and reloaded again: reloaded/);
    const after = live();
    assert.ok(after.conf.equals(before.conf) && after.site.equals(before.site), "every file back, byte for byte");
    assert.notEqual(await w.signature(), sig);
    assert.equal((await w.get("/healthz")).status, 200);
    assert.equal((await w.get("/site")).body, "site-v1\n");
    assert.deepEqual(leftovers(), []);
  });

  test("without restore_on_failure the caller restores: RollbackConfig with each file's previous_sha256", async () => {
    const before = live();
    const set = [file(w.conf, mainConf(w.dir, w.port, { healthz: 'return 500 "broken\\n";' })), file(w.site, site("site-v4"))];
    const r = await push(set);
    assert.equal(r.ok, false);
    assert.equal(r.restored, false);
    assert.equal(readFileSync(w.site, "utf8"), site("site-v4"), "left installed for the caller");
    const rb = await agent.client.rollbackConfig({ requestId: `rb-${++n}`, service: "web", allowRestart: false, files: r.files.map((f) => ({ path: f.path, sha256: f.previousSha256 })) });
    assert.equal(rb.ok, true, rb.reason);
    const after = live();
    assert.ok(after.conf.equals(before.conf) && after.site.equals(before.site));
    assert.equal((await w.get("/healthz")).status, 200);
  });

  test("check_mode live for a set: all swapped, checked, all restored on failure; a good set installs", async () => {
    const before = live();
    const sig = await w.signature();
    const r = await push([file(w.conf, mainConf(w.dir, w.port, { http: MAP_V2 })), file(w.site, site("$fleet_v2", "bogus_live on; "))], { service: "web-live" });
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_REJECTED, r.reason);
    assert.match(r.reason, new RegExp(`every file of the set was restored: .*unknown directive "bogus_live" in ${w.site}`));
    const after = live();
    assert.ok(after.conf.equals(before.conf) && after.site.equals(before.site));
    assert.equal(await w.signature(), sig, "not signalled");

    const good = await push([file(w.conf, mainConf(w.dir, w.port, { http: MAP_V2 })), file(w.site, site("$fleet_v2 live"))], { service: "web-live" });
    assert.equal(good.ok, true, good.reason);
    assert.equal((await w.get("/site")).body, "mapped-v2 live\n");
  });

  test("bad requests: an undeclared path or a path twice is refused, and both forms at once", async () => {
    await assert.rejects(push([file(w.conf, "x"), file("/etc/passwd", "x")]), (e: AgentCallError) => e.code === status.PERMISSION_DENIED && /\/etc\/passwd is not a config path of service web/.test(e.message));
    await assert.rejects(push([file(w.site, "a"), file(w.site, "b")]), (e: AgentCallError) => e.code === status.INVALID_ARGUMENT && /appears twice in the set/.test(e.message));
    await assert.rejects(
      agent.client.pushConfig({ requestId: `both-${++n}`, service: "web", path: w.conf, content: Buffer.from("x"), sha256: sha("x"), files: [file(w.site, "y")], allowRestart: false }),
      (e: AgentCallError) => e.code === status.INVALID_ARGUMENT && /either path, content and sha256 \(one file\) or files \(a set\), not both/.test(e.message),
    );
    await assert.rejects(push([{ path: w.site, content: Buffer.from("y"), sha256: sha("z") }]), (e: AgentCallError) => e.code === status.INVALID_ARGUMENT && e.message.includes(`${w.site}: sha256 does not match`));
  });
});

describe("config file sets where mount namespaces are unavailable", { skip: nginxMissing ?? notRoot }, () => {
  const scratch = scratchDir("fleet-13a-nons-");
  let w: Web;
  let agent: AgentHarness;
  let n = 0;
  const file = (p: string, content: string) => ({ path: p, content: Buffer.from(content), sha256: sha(content) });

  before(async () => {
    w = await startWeb(scratch.dir);
    mkdirSync(path.join(scratch.dir, "state"));
    agent = await startAgent(agentYaml(w, path.join(scratch.dir, "state")), {}, { namespaces: fixedMountNamespaces("test: no mount namespaces here") });
  });
  after(async () => {
    await agent?.stop();
    w?.stop();
    scratch.remove();
  });

  test("a staged set of several files is refused with the reason and the way out; one file is checked as a staged copy beside the live file", async () => {
    const conf = readFileSync(w.conf);
    await assert.rejects(
      agent.client.pushConfig({ requestId: `nons-${++n}`, service: "web", allowRestart: false, files: [file(w.conf, mainConf(w.dir, w.port, { http: MAP_V2 })), file(w.site, site("$fleet_v2"))] }),
      (e: AgentCallError) => e.code === status.FAILED_PRECONDITION && /a set of 2 files is checked at the real paths in a private mount namespace, which this agent cannot create \(test: no mount namespaces here\); set check_mode: live/.test(e.message),
    );
    const broken = mainConf(w.dir, w.port, { http: "bogus_main on;" });
    const r = await agent.client.pushConfig({ requestId: `nons-${++n}`, service: "web", allowRestart: false, ...file(w.conf, broken) });
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_REJECTED);
    assert.match(r.reason, new RegExp(`the check refused the new file; the live file was not touched: .*unknown directive "bogus_main" in ${w.conf}:`));
    assert.ok(readFileSync(w.conf).equals(conf));
  });

  test("check_mode live needs no namespace: the set is swapped, checked and installed", async () => {
    const r = await agent.client.pushConfig({ requestId: `nons-${++n}`, service: "web-live", allowRestart: false, files: [file(w.conf, mainConf(w.dir, w.port, { http: MAP_V2 })), file(w.site, site("$fleet_v2 nons"))] });
    assert.equal(r.ok, true, r.reason);
    assert.equal((await w.get("/site")).body, "mapped-v2 nons\n");
  });
});

describe("config file sets through the built fleet-agent process", { skip: nginxMissing ?? notRoot }, () => {
  const scratch = scratchDir("fleet-13a-proc-");
  let w: Web;
  let agent: AgentProcess;
  let client: AgentClient;
  const file = (p: string, content: string) => ({ path: p, content: Buffer.from(content), sha256: sha(content) });

  before(async () => {
    w = await startWeb(scratch.dir);
    mkdirSync(path.join(scratch.dir, "state"));
    const config = path.join(scratch.dir, "agent.yaml");
    writeFileSync(config, agentYaml(w, path.join(scratch.dir, "state")));
    agent = await spawnAgent(config);
    client = createAgentClient(agent.address);
  });
  after(async () => {
    client?.close();
    await agent?.stopInside();
    w?.stop();
    scratch.remove();
  });

  test("the bundled namespace helper: a broken include rejected at its real path, the fixed set installed and served", async () => {
    const before = readFileSync(w.site);
    const bad = await client.pushConfig({ requestId: "proc-1", service: "web", allowRestart: false, files: [file(w.conf, mainConf(w.dir, w.port, { http: MAP_V2 })), file(w.site, site("$fleet_v2", "bogus_proc on; "))] });
    assert.equal(bad.change, ConfigChange.CONFIG_CHANGE_REJECTED, bad.reason);
    assert.match(bad.reason, new RegExp(`unknown directive "bogus_proc" in ${w.site}:1`));
    assert.ok(readFileSync(w.site).equals(before));
    const good = await client.pushConfig({ requestId: "proc-2", service: "web", allowRestart: false, files: [file(w.conf, mainConf(w.dir, w.port, { http: MAP_V2 })), file(w.site, site("$fleet_v2 proc"))] });
    assert.equal(good.ok, true, good.reason);
    assert.equal((await w.get("/site")).body, "mapped-v2 proc\n");
  });
});

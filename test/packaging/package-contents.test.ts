// The packages as built by `npm run package`: .deb control fields, conffiles,
// units and maintainer scripts; the .rpm files, scripts and dependencies match
// the .deb; both install into an empty root with rpm; the bundles run alone.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { processesWith } from "../helpers/controller-host.js";
import { waitFor } from "../helpers/wait-for.js";
import { REPO_ROOT } from "../helpers/web-service.js";

const missing = !existsSync("/usr/bin/dpkg-deb") ? "dpkg-deb not installed" : !existsSync("/usr/bin/rpmbuild") ? "rpmbuild not installed (apt-get install rpm; .ci/run installs it)" : undefined;
if (missing) console.log(`# skipping package tests: ${missing}`);

describe("packages", { skip: missing }, () => {
  const out = mkdtempSync(path.join(os.tmpdir(), "fleet-pkg-"));
  let built: string[] = [];
  const find = (re: RegExp) => built.find((f) => re.test(path.basename(f)))!;
  const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

  before(() => {
    built = execFileSync("bash", [path.join(REPO_ROOT, "packaging/build-packages.sh")], { env: { ...process.env, FLEET_DIST: out }, encoding: "utf8", timeout: 300_000 }).trim().split("\n");
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  test("four packages named NAME_VERSION_ARCH.deb and NAME-VERSION.ARCH.rpm", () => {
    assert.deepEqual(built.map((f) => path.basename(f).replace(/\d+\.\d+\.\d+/, "V")).sort(), ["fleet-agent-V-1.noarch.rpm", "fleet-agent_V_all.deb", `fleet-controller-V-1.${os.arch() === "x64" ? "x86_64" : os.arch()}.rpm`, `fleet-controller_V_${sh("dpkg", ["--print-architecture"]).trim()}.deb`].sort());
  });

  for (const name of ["fleet-agent", "fleet-controller"]) {
    test(`${name}: the .rpm carries the same files, conffile, scripts and nodejs dependency as the .deb`, () => {
      const deb = find(new RegExp(`^${name}_.*\\.deb$`));
      const rpm = find(new RegExp(`^${name}-.*\\.rpm$`));
      const debFiles = sh("dpkg-deb", ["-c", deb]).split("\n").filter((l) => l && !l.startsWith("d")).map((l) => l.split(/\s+/).pop()!.replace(/^\./, "")).sort();
      const rpmFiles = sh("rpm", ["-qpl", rpm]).trim().split("\n").sort();
      assert.deepEqual(rpmFiles, debFiles);
      const conf = name === "fleet-agent" ? "/etc/fleet/agent.yaml" : "/etc/fleet/fleet.yaml";
      assert.match(sh("dpkg-deb", ["-f", deb, "Depends"]), /nodejs \(>= \d+\)/);
      assert.match(sh("rpm", ["-qpR", rpm]), /nodejs >= \d+/);
      assert.equal(sh("rpm", ["-qpc", rpm]).trim(), conf);
      const x = path.join(out, `${name}-x`);
      execFileSync("dpkg-deb", ["-R", deb, x]);
      assert.equal(readFileSync(path.join(x, "DEBIAN/conffiles"), "utf8").trim(), conf);
      const scripts = sh("rpm", ["-qp", "--scripts", rpm]);
      for (const [debScript, rpmScript] of [["postinst", "postinstall"], ["prerm", "preuninstall"], ["postrm", "postuninstall"]]) {
        assert.ok(statSync(path.join(x, "DEBIAN", debScript!)).mode & 0o100, `${debScript} is executable`);
        const body = readFileSync(path.join(x, "DEBIAN", debScript!), "utf8").split("\n").slice(1).join("\n").trim();
        assert.ok(scripts.includes(`${rpmScript} scriptlet`), rpmScript);
        assert.ok(scripts.includes(body), `${rpmScript} runs the same body as ${debScript}`);
      }
      const unit = readFileSync(path.join(x, `lib/systemd/system/${name}.service`), "utf8");
      for (const line of ["Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes", "WantedBy=multi-user.target", "--check-config"]) assert.ok(unit.includes(line), `${name}.service: ${line}`);
    });
  }

  test("rpm -i --nodeps into an empty root installs both", () => {
    const root = path.join(out, "empty-root");
    mkdirSync(root);
    for (const rpm of built.filter((f) => f.endsWith(".rpm"))) {
      // The scriptlets need /bin/sh, which an empty root lacks: rpm warns and still installs.
      const r = spawnSync("rpm", ["-i", "--nodeps", "--root", root, rpm], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    }
    assert.match(sh("rpm", ["-qa", "--root", root]), /fleet-agent-\d.*\n?.*fleet-controller-\d|fleet-controller-\d.*\n?.*fleet-agent-\d/s);
    for (const f of ["usr/lib/fleet-agent/fleet-agent.mjs", "usr/lib/fleet/node_modules/better-sqlite3/build/Release/better_sqlite3.node", "usr/lib/fleet/litestream", "etc/fleet/fleet.yaml"]) assert.ok(existsSync(path.join(root, f)), f);
    assert.ok(statSync(path.join(root, "usr/lib/fleet/litestream")).mode & 0o111, "litestream is executable");
  });

  test("the bundles run alone: the shipped configs are refused until configured; a configured controller serves the packaged CLI", async () => {
    const agentX = path.join(out, "agent-run");
    const ctlX = path.join(out, "ctl-run");
    execFileSync("dpkg-deb", ["-x", find(/^fleet-agent_.*\.deb$/), agentX]);
    execFileSync("dpkg-deb", ["-x", find(/^fleet-controller_.*\.deb$/), ctlX]);
    const agent = path.join(agentX, "usr/lib/fleet-agent/fleet-agent.mjs");
    const shipped = spawnSync(process.execPath, [agent, "--check-config", "--config", path.join(agentX, "etc/fleet/agent.yaml")], { encoding: "utf8", timeout: 30_000 });
    assert.equal(shipped.status, 2);
    assert.match(shipped.stderr, /declares no service/);
    assert.match(spawnSync(process.execPath, [agent, "--help"], { encoding: "utf8" }).stdout, /Config file \(YAML\)/);
    const controller = path.join(ctlX, "usr/lib/fleet/fleet-controller.mjs");
    const refused = spawnSync(process.execPath, [controller, "--check-config", "--config", path.join(ctlX, "etc/fleet/fleet.yaml")], { encoding: "utf8", timeout: 30_000 });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /groups: is required/);
    const conf = path.join(out, "fleet.yaml");
    writeFileSync(conf, `controller: { listen: "unix:${out}/c.sock", db: ${out}/h.db }\ngroups:\n  g:\n    service: s\n    hosts: [a:7601]\n`);
    const daemon = spawnSync(process.execPath, [controller, "--check-config", "--config", conf], { encoding: "utf8" });
    assert.equal(daemon.status, 0, daemon.stderr);

    // The packaged Litestream runs, and the packaged controller uses it (the one beside its bundle) for replicate:.
    const litestream = path.join(ctlX, "usr/lib/fleet/litestream");
    assert.match(spawnSync(litestream, ["version"], { encoding: "utf8", timeout: 10_000 }).stdout, /^v0\.3\.\d+/);
    const replicating = path.join(out, "fleet-replicating.yaml");
    writeFileSync(replicating, `controller: { listen: "unix:${out}/r.sock", db: ${out}/r/h.db }\nreplicate: { to: ${out}/replica }\ngroups:\n  g:\n    service: s\n    hosts: [a:7601]\n`);
    const child = spawn(process.execPath, [controller, "--config", replicating], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    try {
      await waitFor("the packaged controller to replicate", () => log.includes('"msg":"replicating the history"'), 30_000);
      assert.ok(log.includes(`"litestream":"${litestream}"`), log);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    assert.ok(existsSync(path.join(out, "replica/fleet-replica.json")));
    assert.deepEqual(processesWith(`${out}/r/.h.db.litestream.yml`), [], "SIGTERM stops Litestream with the controller");
  });
});

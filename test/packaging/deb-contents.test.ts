// The fleet-agent .deb as built by `npm run package`: control fields, conffile,
// unit, maintainer scripts, and a bundled agent that runs on its own.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/web-service.js";

const missing = existsSync("/usr/bin/dpkg-deb") ? undefined : "dpkg-deb not installed";
if (missing) console.log(`# skipping .deb tests: ${missing}`);

test("fleet-agent .deb: depends on nodejs (>= 18), ships a conffile, a hardened unit and one bundled agent file", { skip: missing }, () => {
  const out = mkdtempSync(path.join(os.tmpdir(), "fleet-deb-"));
  try {
    const deb = execFileSync("bash", [path.join(REPO_ROOT, "packaging/build-packages.sh")], { env: { ...process.env, FLEET_DIST: out }, encoding: "utf8", timeout: 120_000 }).trim().split("\n").pop()!;
    assert.match(path.basename(deb), /^fleet-agent_\d+\.\d+\.\d+_all\.deb$/);
    const info = execFileSync("dpkg-deb", ["-I", deb], { encoding: "utf8" });
    assert.match(info, /Depends: nodejs \(>= 18\)/);
    assert.match(info, /conffiles/);
    const files = execFileSync("dpkg-deb", ["-c", deb], { encoding: "utf8" });
    for (const f of ["./etc/fleet/agent.yaml", "./lib/systemd/system/fleet-agent.service", "./usr/bin/fleet-agent", "./usr/lib/fleet-agent/fleet-agent.mjs"]) assert.ok(files.includes(f), f);
    const x = path.join(out, "x");
    execFileSync("dpkg-deb", ["-R", deb, x]);
    assert.equal(readFileSync(path.join(x, "DEBIAN/conffiles"), "utf8").trim(), "/etc/fleet/agent.yaml");
    for (const script of ["postinst", "prerm", "postrm"]) assert.ok(statSync(path.join(x, "DEBIAN", script)).mode & 0o100, `${script} is executable`);
    const unit = readFileSync(path.join(x, "lib/systemd/system/fleet-agent.service"), "utf8");
    for (const line of ["Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID", "ProtectSystem=true", "NoNewPrivileges=yes", "WantedBy=multi-user.target"]) assert.ok(unit.includes(line), line);

    // The bundled agent runs alone: the shipped example config is refused until configured.
    const agent = path.join(x, "usr/lib/fleet-agent/fleet-agent.mjs");
    const shipped = spawnSync(process.execPath, [agent, "--check-config", "--config", path.join(x, "etc/fleet/agent.yaml")], { encoding: "utf8", timeout: 30_000 });
    assert.equal(shipped.status, 2);
    assert.match(shipped.stderr, /declares no service/);
    const good = path.join(out, "good.yaml");
    writeFileSync(good, "insecure: true\nservices:\n  nginx:\n    reload: { systemd: nginx.service }\n");
    const ok = spawnSync(process.execPath, [agent, "--check-config", "--config", good], { encoding: "utf8", timeout: 30_000 });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(spawnSync(process.execPath, [agent, "--help"], { encoding: "utf8" }).stdout, /Config file \(YAML\):/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

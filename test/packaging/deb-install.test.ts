// The fleet-agent .deb on a fresh systemd test host with its own overlay root:
// install (not started until configured), configure, enable --now, reload
// nginx through systemctl; upgrade keeps a changed conffile and restarts;
// remove, then purge, leave nothing behind.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createAgentClient } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { runFleet } from "../helpers/run-cli.js";
import { startSystemdHost, systemdHostMissing, type SystemdHost } from "../helpers/systemd-host.js";
import { createTestNetwork, type TestNetwork } from "../helpers/test-network.js";
import { nginxMissing } from "../helpers/nginx.js";
import { REPO_ROOT } from "../helpers/web-service.js";
import { waitFor } from "../helpers/wait-for.js";

const skip = systemdHostMissing ?? nginxMissing ?? (existsSync("/usr/bin/dpkg-deb") ? undefined : "dpkg-deb not installed");
if (skip) console.log(`# skipping .deb install test: ${skip}`);

describe("fleet-agent .deb on a systemd test host", { skip }, () => {
  let host: SystemdHost;
  let net: TestNetwork;
  const ADDRESS = "10.201.77.2:7601";
  const out = mkdtempSync(path.join(os.tmpdir(), "fleet-deb-"));
  const build = (version: string) => execFileSync("bash", [path.join(REPO_ROOT, "packaging/build-packages.sh")], { env: { ...process.env, FLEET_DIST: out, FLEET_VERSION: version }, encoding: "utf8", timeout: 120_000 }).trim().split("\n").find((l) => /fleet-agent_.*\.deb$/.test(l))!;
  const sh = async (cmd: string, ok = true) => {
    const r = await host.run(["/bin/sh", "-c", cmd], 120_000);
    if (ok) assert.equal(r.exitCode, 0, `${cmd}: ${r.output}`);
    return r;
  };

  before(async () => {
    host = await startSystemdHost("pkg1", () => ({}), { overlayRoot: true });
    net = await createTestNetwork("fleettest0", "10.201.77.1/24");
    await net.attach(host.pid1, "10.201.77.2/24");
    copyFileSync(build("0.1.0"), path.join(host.dir, "shared", "fleet-agent_0.1.0_all.deb"));
    copyFileSync(build("0.1.1"), path.join(host.dir, "shared", "fleet-agent_0.1.1_all.deb"));
  });
  after(async () => {
    await host?.stop();
    await net?.remove();
    rmSync(out, { recursive: true, force: true });
  });

  test("install, configure, enable --now: the agent answers fleet agent describe over the test network and reloads nginx via systemctl", async () => {
    const install = await sh("dpkg -i /run/fleet-shared/fleet-agent_0.1.0_all.deb");
    assert.match(install.output, /fleet-agent installed but not started/);
    assert.notEqual((await sh("systemctl is-active fleet-agent", false)).output.trim(), "active", "not started before it is configured");
    await sh("systemctl start nginx");
    await sh(`cat > /etc/fleet/agent.yaml <<'EOF2'
listen: 0.0.0.0:7601
insecure: true
services:
  nginx:
    reload: { systemd: nginx.service }
    check: [/usr/sbin/nginx, -t, -q, -c, "{path}"]
    health: [{ http: "http://127.0.0.1/", status: 200 }]
    configs: [{ path: /etc/nginx/nginx.conf }]
EOF2`);
    await sh("systemctl enable --now fleet-agent");
    // From the root namespace, over the bridge, with the real CLI.
    const described = await waitFor("the packaged agent to answer", async () => {
      const r = await runFleet(["agent", "describe", ADDRESS, "--json", "--deadline", "2s"]);
      return r.code === 0 ? JSON.parse(r.stdout) : undefined;
    }, 30_000);
    assert.deepEqual(described.services.map((s: { name: string }) => s.name), ["nginx"]);
    const client = createAgentClient(ADDRESS);
    try {
      const d = await client.describe({ deadlineMs: 10_000 });
      assert.match(d.runAsUser, /^root \(uid 0\)/, "the packaged unit runs as root");
      assert.deepEqual(d.services.map((s) => s.name), ["nginx"]);
      const r = await client.reload({ requestId: "pkg-1", service: "nginx", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
      assert.equal(outcomeToWord(r.outcome), "reloaded", r.reason);
      assert.equal(r.evidence!.action, "systemctl reload nginx.service");
    } finally {
      client.close();
    }
    assert.ok(!existsSync("/usr/lib/fleet-agent"), "nothing was installed on the machine itself");
  });

  test("upgrade keeps the changed conffile and restarts the running agent; remove then purge leave nothing", async () => {
    const before = (await sh("systemctl show -p MainPID --value fleet-agent")).output.trim();
    await sh("dpkg -i --force-confold /run/fleet-shared/fleet-agent_0.1.1_all.deb");
    assert.match((await sh("dpkg-query -W -f '${Version}' fleet-agent")).output, /0\.1\.1/);
    assert.match((await sh("cat /etc/fleet/agent.yaml")).output, /listen: 0\.0\.0\.0:7601/, "the operator's config was kept");
    await waitFor("the agent to be active again", async () => (await sh("systemctl is-active fleet-agent", false)).output.trim() === "active", 30_000);
    const afterPid = (await sh("systemctl show -p MainPID --value fleet-agent")).output.trim();
    assert.notEqual(afterPid, before, "restarted on upgrade");
    const client = createAgentClient(ADDRESS);
    try {
      await waitFor("the upgraded agent to answer", async () => (await client.describe({ deadlineMs: 2000 })).agentVersion !== "", 30_000);
    } finally {
      client.close();
    }

    await sh("dpkg -r fleet-agent");
    assert.notEqual((await sh("systemctl is-active fleet-agent", false)).output.trim(), "active");
    assert.equal((await sh("test -e /usr/lib/fleet-agent/fleet-agent.mjs", false)).exitCode, 1);
    assert.equal((await sh("test -e /etc/fleet/agent.yaml", false)).exitCode, 0, "remove keeps the conffile");
    await sh("dpkg -P fleet-agent");
    for (const p of ["/etc/fleet/agent.yaml", "/var/lib/fleet-agent", "/lib/systemd/system/fleet-agent.service", "/usr/bin/fleet-agent"]) {
      assert.equal((await sh(`test -e ${p}`, false)).exitCode, 1, `${p} is gone`);
    }
    assert.equal((await sh("dpkg -s fleet-agent", false)).exitCode, 1);
  });
});

// Three test hosts with the agent from its .deb, each running nginx, and a
// controller host with fleet-controller from its .deb, all on a test bridge:
// `fleet reload web --canary 1` through the packaged units reloads all three.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { nginxMissing } from "../helpers/nginx.js";
import { startSystemdHost, systemdHostMissing, type SystemdHost } from "../helpers/systemd-host.js";
import { createTestNetwork, type TestNetwork } from "../helpers/test-network.js";
import { REPO_ROOT } from "../helpers/web-service.js";
import { waitFor } from "../helpers/wait-for.js";

const skip = systemdHostMissing ?? nginxMissing ?? (existsSync("/usr/bin/dpkg-deb") ? undefined : "dpkg-deb not installed");
if (skip) console.log(`# skipping packaged fleet test: ${skip}`);

const out = mkdtempSync(path.join(os.tmpdir(), "fleet-fleet-"));
const shared = path.join(REPO_ROOT, ".scratch", `shared-${process.pid}`);
const hosts: SystemdHost[] = [];
let controller: SystemdHost;
let net: TestNetwork;
const agentAddress = (i: number) => `10.201.78.${i + 1}:7601`;

const sh = async (host: SystemdHost, cmd: string) => {
  const r = await host.run(["/bin/sh", "-c", cmd], 120_000);
  assert.equal(r.exitCode, 0, `${cmd}: ${r.output}`);
  return r.output;
};

before(async () => {
  if (skip) return;
  mkdirSync(shared, { recursive: true });
  const built = execFileSync("bash", [path.join(REPO_ROOT, "packaging/build-packages.sh")], { env: { ...process.env, FLEET_DIST: out }, encoding: "utf8", timeout: 300_000 }).trim().split("\n");
  for (const f of built.filter((l) => l.endsWith(".deb"))) copyFileSync(f, path.join(shared, path.basename(f).replace(/_\d+\.\d+\.\d+_/, "_")));
  net = await createTestNetwork("fleettest1", "10.201.78.1/24");
  for (let i = 1; i <= 3; i++) {
    const h = await startSystemdHost(`web${i}`, () => ({}), { overlayRoot: true, shared });
    await net.attach(h.pid1, `${agentAddress(i).split(":")[0]}/24`);
    hosts.push(h);
  }
  controller = await startSystemdHost("ctl", () => ({}), { overlayRoot: true, shared });
  await net.attach(controller.pid1, "10.201.78.10/24");
});
after(async () => {
  for (const h of [...hosts, controller]) await h?.stop();
  await net?.remove();
  rmSync(shared, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

test("fleet reload web --canary 1 through the packaged controller and agents reloads all three nginx", { skip }, async () => {
  for (const [i, h] of hosts.entries()) {
    await sh(h, "dpkg -i /run/fleet-shared/fleet-agent_all.deb && systemctl start nginx");
    await sh(h, `cat > /etc/fleet/agent.yaml <<'EOF2'
listen: 0.0.0.0:7601
insecure: true
services:
  nginx:
    reload: { systemd: nginx.service }
    check: [/usr/sbin/nginx, -t, -q, -c, "{path}"]
    generation: workers
    health: [{ http: "http://127.0.0.1/", status: 200 }]
    configs: [{ path: /etc/nginx/nginx.conf }]
EOF2
systemctl enable --now fleet-agent`);
  }
  const deb = (await sh(controller, "ls /run/fleet-shared")).split("\n").find((l) => l.startsWith("fleet-controller_"))!;
  await sh(controller, `dpkg -i /run/fleet-shared/${deb}`);
  await sh(controller, `cat > /etc/fleet/fleet.yaml <<'EOF2'
controller: { listen: unix:/run/fleet/controller.sock, db: /var/lib/fleet/history.db }
groups:
  web:
    service: nginx
    hosts: [${agentAddress(1)}, ${agentAddress(2)}, ${agentAddress(3)}]
EOF2
systemctl enable --now fleet-controller`);
  for (let i = 1; i <= 3; i++) {
    await waitFor(`agent web${i}`, async () => (await controller.run(["/usr/bin/fleet", "agent", "describe", agentAddress(i), "--deadline", "2s"], 10_000)).exitCode === 0, 30_000);
  }
  await waitFor("the controller", async () => (await controller.run(["/usr/bin/fleet", "history"], 10_000)).exitCode === 0, 30_000);
  // /usr/bin/fleet starts Node without NODE_EXTRA_CA_CERTS, as bin/fleet does.
  const noExtraCa = await controller.run(["/usr/bin/env", "NODE_EXTRA_CA_CERTS=/nonexistent/bundle.pem", "/usr/bin/fleet", "history"], 10_000);
  assert.equal(noExtraCa.exitCode, 0, noExtraCa.output);
  assert.doesNotMatch(noExtraCa.output, /extra certs/);

  const workersBefore = await Promise.all(hosts.map((h) => sh(h, "systemctl show -p MainPID --value nginx")));
  const r = await controller.run(["/usr/bin/fleet", "reload", "web", "--canary", "1", "--json"], 120_000);
  assert.equal(r.exitCode, 0, r.output);
  const events = r.output.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  assert.equal(events.find((e) => e.kind === "plan").plan.batches[0].canary, true);
  assert.deepEqual(events.filter((e) => e.kind === "host_finished").map((e) => e.outcome), ["reloaded", "reloaded", "reloaded"]);
  assert.equal(events.find((e) => e.kind === "finished").outcome, "succeeded");
  const workersAfter = await Promise.all(hosts.map((h) => sh(h, "systemctl show -p MainPID --value nginx")));
  assert.deepEqual(workersAfter, workersBefore, "each nginx master kept its identity");

  // The controller's own unit reloads it with ExecReload (kill -HUP): it keeps serving.
  await sh(controller, "systemctl reload fleet-controller");
  await waitFor("the controller after its reload", async () => (await controller.run(["/usr/bin/fleet", "history", "--json"], 10_000)).exitCode === 0, 30_000);
  assert.match(await sh(controller, "journalctl -u fleet-controller --no-pager -o cat | tail -5"), /inventory reloaded/);
});

// Every transport to the controller is authenticated, and every call needs a
// role: a TCP listen (loopback included) without TLS is refused at start; with
// TLS a `read` certificate can list the history and is refused a reload with
// PERMISSION_DENIED naming the role; a user outside the socket's group cannot
// connect at all, and controller.read_socket grants only `read`.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort } from "../../common/free-port.js";
import { CONTROLLER_BIN, startControllerDaemon } from "../helpers/controller-daemon.js";
import { writeInventory } from "../helpers/controller-harness.js";
import { FLEET_BIN, runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const skip = existsSync("/usr/bin/openssl") ? (process.getuid?.() === 0 && existsSync("/usr/bin/setpriv") ? undefined : "needs root and setpriv to run the CLI as nobody (CI runs as root)") : "openssl not installed";
if (skip) console.log(`# skipping controller authentication tests: ${skip}`);

const GROUPS = "  web:\n    service: web\n    hosts: [192.0.2.1:7601]\n";

/** The CLI as nobody:nogroup with no supplementary groups. */
function fleetAsNobody(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", FLEET_BIN, ...args], { env: { ...process.env, ...env, HOME: "/tmp" }, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d) => (stdout += d));
    c.stderr.on("data", (d) => (stderr += d));
    c.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("controller authentication and roles", { skip }, () => {
  const scratch = scratchDir();
  const tls = path.join(scratch.dir, "tls");
  const other = path.join(scratch.dir, "other");
  const operator = (dir: string, name: string) => ({ FLEET_TLS_CA: path.join(tls, "ca.crt"), FLEET_TLS_CERT: path.join(dir, `operator-${name}.crt`), FLEET_TLS_KEY: path.join(dir, `operator-${name}.key`) });

  before(async () => {
    for (const args of [["init", "--dir", tls], ["issue", "--dir", tls, "--controller", "127.0.0.1"], ["issue", "--dir", tls, "--operator", "reader"], ["issue", "--dir", tls, "--operator", "admin"], ["issue", "--dir", tls, "--operator", "stranger"], ["init", "--dir", other], ["issue", "--dir", other, "--operator", "admin"]]) {
      const r = await runFleet(["certs", ...args]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
  });
  after(() => scratch.remove());

  test("controller.listen on 127.0.0.1 without TLS is refused at start", async () => {
    const file = writeInventory(scratch.dir, GROUPS);
    writeFileSync(file, readFileSync(file, "utf8").replace(/listen: "unix:[^"]+"/, `listen: "127.0.0.1:${await freePort()}"`));
    const child = spawn(CONTROLLER_BIN, ["--config", file], { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    assert.equal(await new Promise((resolve) => child.on("exit", resolve)), 2);
    assert.match(err, /controller\.listen: a TCP address \(loopback included\) needs TLS/);
    assert.match(err, /controller\.operators: a TCP listen needs operator certificate names/);
  });

  test("over TLS: a read certificate lists the history and is refused a reload naming the role; operate may reload; no or foreign certificates get nothing", async () => {
    const port = await freePort();
    const file = writeInventory(scratch.dir, GROUPS);
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        /listen: "unix:[^"]+"/,
        `listen: "127.0.0.1:${port}", tls: { cert: ${tls}/controller-127.0.0.1.crt, key: ${tls}/controller-127.0.0.1.key, ca: ${tls}/ca.crt }, operators: { read: [reader], operate: [admin] }`,
      ),
    );
    const daemon = await startControllerDaemon(file);
    const env = { FLEET_CONTROLLER: `127.0.0.1:${port}` };
    try {
      // bin/fleet starts Node without NODE_EXTRA_CA_CERTS: TLS to the controller rests on FLEET_TLS_CA alone.
      const history = await runFleet(["history"], { ...env, ...operator(tls, "reader"), NODE_EXTRA_CA_CERTS: path.join(scratch.dir, "no-such-bundle.pem") });
      assert.equal(history.code, 0, history.stderr);
      assert.match(history.stdout, /^no rollouts yet/, "an empty history, read over TLS");
      assert.doesNotMatch(history.stderr, /extra certs/, "Node never saw NODE_EXTRA_CA_CERTS");
      const denied = await runFleet(["reload", "web", "--dry-run"], { ...env, ...operator(tls, "reader") });
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /permission denied: Reload needs the operate role; certificate reader has only read \(controller\.operators: read \[reader\], operate \[admin\]\)/);
      const stranger = await runFleet(["history"], { ...env, ...operator(tls, "stranger") });
      assert.match(stranger.stderr, /permission denied: History needs the read role; certificate stranger has no role/);

      const plan = await runFleet(["reload", "web", "--dry-run"], { ...env, ...operator(tls, "admin") });
      assert.equal(plan.code, 3, "the plan, and its preflight finds the (documentation-range) host unreachable\n" + plan.stderr);
      assert.match(plan.stdout, /batch 0 \(canary\): 192\.0\.2\.1:7601/);

      const noCert = await runFleet(["history"], env);
      assert.equal(noCert.code, 2);
      assert.match(noCert.stderr, /a TCP controller address needs an operator certificate: set FLEET_TLS_CA/);
      const foreign = await runFleet(["history"], { ...env, ...operator(other, "admin") });
      assert.equal(foreign.code, 3, "a certificate from another CA fails the handshake");
      assert.match(daemon.output(), /"msg":"request refused","rpc":"Reload"[^\n]*"kind":"permission_denied"/);
    } finally {
      await daemon.stop();
    }
  });

  test("unix sockets: outside the socket's group one cannot connect at all; read_socket's group may read and is refused operate", async () => {
    const readSock = path.join(scratch.dir, "read.sock");
    const file = writeInventory(scratch.dir, GROUPS, "", `, socket_group: adm, read_socket: "unix:${readSock}", read_group: nogroup`);
    const daemon = await startControllerDaemon(file);
    const env = { FLEET_CONTROLLER: `unix:${scratch.dir}/controller.sock` };
    try {
      assert.equal(statSync(`${scratch.dir}/controller.sock`).mode & 0o777, 0o660);
      assert.equal(statSync(readSock).gid, 65534);
      const shut = await fleetAsNobody(["history"], env);
      assert.equal(shut.code, 3, shut.stderr);
      assert.match(shut.stderr, /cannot connect to the controller socket [^ ]+controller\.sock: permission denied for user nobody; controller\.socket_group in \/etc\/fleet\/fleet\.yaml names the group that may connect/);
      assert.doesNotMatch(daemon.output(), /"rpc":"History"/, "the call never reached the controller");

      const readEnv = { FLEET_CONTROLLER: `unix:${readSock}` };
      const read = await fleetAsNobody(["history"], readEnv);
      assert.equal(read.code, 0, read.stderr);
      const operate = await fleetAsNobody(["reload", "web", "--dry-run"], readEnv);
      assert.equal(operate.code, 1);
      assert.match(operate.stderr, /permission denied: Reload needs the operate role; a caller on controller\.read_socket has only read \(controller\.read_socket grants read only; operate needs controller\.listen \(group adm\)\)/);
      const root = await runFleet(["reload", "web", "--dry-run"], env);
      assert.equal(root.code, 3, "root may plan (its preflight finds the host unreachable)\n" + root.stderr);
      assert.match(root.stdout, /batch 0 \(canary\): 192\.0\.2\.1:7601/);
    } finally {
      await daemon.stop();
    }
  });
});

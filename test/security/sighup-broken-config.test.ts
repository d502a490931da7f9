// A real agent process given every kind of broken config on SIGHUP: it stays
// up, keeps serving with the old config, logs the refusal with the field, and
// takes a good config afterwards. `--check-config` fails the same files. A
// SIGHUP in the middle of a `check_mode: live` push leaves the old file.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createAgentClient, type AgentClient } from "../../common/agent-client.js";
import { outcomeToWord } from "../../common/outcome-words.js";
import { ConfigChange } from "../../proto/gen/fleet/agent/v1/agent.js";
import { initCa, issueCert } from "../../cli/certs/fleet-certs.js";
import { runAgent, spawnAgent, type AgentProcess } from "../helpers/agent-process.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { startWebService, type WebService } from "../helpers/web-service.js";
import { waitFor } from "../helpers/wait-for.js";

const TOKEN = "s3cret-token-0123456789abcdef";
const opensslMissing = existsSync("/usr/bin/openssl") ? undefined : "openssl not installed";

describe("SIGHUP with a broken config", { skip: opensslMissing }, () => {
  const scratch = scratchDir();
  const conf = path.join(scratch.dir, "agent.yaml");
  const tokenFile = path.join(scratch.dir, "agent.token");
  const liveFile = path.join(scratch.dir, "live.conf");
  let web: WebService;
  let agent: AgentProcess;
  let client: AgentClient;
  let tls: { cert: string; key: string; ca: string };
  let reloads = 0;

  const services = () => `services:
  web:
    reload: { signal: HUP, pidfile: ${web.pidfile} }
    generation: { http: "http://127.0.0.1:${web.port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${web.port}/healthz" }]
  slow-live:
    reload: { command: [/bin/true] }
    generation: none
    healthy_for: 0ms
    check: [/bin/sh, -c, "sleep 2; exit 1"]
    check_mode: live
    configs: [{ path: ${liveFile} }]
`;
  const good = (extra = "") => `listen: 127.0.0.1:0\nstate_dir: ${scratch.dir}/state\nauth: { token_file: ${tokenFile} }\n${services()}${extra}`;
  const reload = () => client.reload({ requestId: `r-${++reloads}`, service: "web", allowRestart: false, generationTimeoutMs: 0, healthyForMs: 0 });
  /** Sends SIGHUP and waits for the n-th refusal or success line. */
  const hup = async (marker: string) => {
    const seen = agent.output().split(marker).length - 1;
    agent.child.kill("SIGHUP");
    await waitFor(`"${marker}" in the agent's log`, () => agent.output().split(marker).length - 1 > seen, 10_000);
    return agent.output().slice(agent.output().lastIndexOf(marker));
  };

  before(async () => {
    web = await startWebService(scratch.dir, "web");
    writeFileSync(tokenFile, TOKEN + "\n");
    writeFileSync(liveFile, "version 1\n");
    mkdirSync(path.join(scratch.dir, "state"));
    const pki = path.join(scratch.dir, "pki");
    await initCa(pki);
    const agentCert = await issueCert(pki, "agent", "127.0.0.1");
    tls = { ...agentCert, ca: path.join(pki, "ca.crt") };
    writeFileSync(conf, good());
    agent = await spawnAgent(conf);
    client = createAgentClient(agent.address, { token: TOKEN, deadlineMs: 5000 });
  });
  after(async () => {
    client?.close();
    if (agent) {
      agent.child.kill("SIGTERM");
      await agent.exited();
    }
    await web?.stop();
    scratch.remove();
  });

  const broken: { name: string; yaml: () => string; field: RegExp; checkConfig: boolean }[] = [
    { name: "token file missing", yaml: () => good().replace(tokenFile, `${scratch.dir}/missing.token`), field: /auth\.token_file: cannot be read: .*missing\.token does not exist/, checkConfig: true },
    { name: "token too short", yaml: () => (writeFileSync(`${scratch.dir}/short.token`, "short\n"), good().replace(tokenFile, `${scratch.dir}/short.token`)), field: /auth\.token_file: .*short\.token holds 5 characters; use at least 16/, checkConfig: true },
    { name: "token file is a directory", yaml: () => good().replace(tokenFile, scratch.dir), field: /auth\.token_file: .* is a directory/, checkConfig: true },
    {
      name: "TLS files missing",
      yaml: () => good().replace(`auth: { token_file: ${tokenFile} }`, `tls: { cert: ${scratch.dir}/no.crt, key: ${scratch.dir}/no.key, ca: ${tls.ca} }`),
      field: /tls\.cert: cannot be read: .*no\.crt does not exist.*tls\.key: cannot be read: .*no\.key does not exist/s,
      checkConfig: true,
    },
    { name: "invalid YAML", yaml: () => good() + "  broken: [\n", field: /YAML syntax/, checkConfig: true },
    {
      // A valid config on its own: --check-config passes it; SIGHUP refuses it because the transport is fixed at start.
      name: "a switch from token to TLS",
      yaml: () => good().replace(`auth: { token_file: ${tokenFile} }`, `tls: { cert: ${tls.cert}, key: ${tls.key}, ca: ${tls.ca} }`),
      field: /need a restart of fleet-agent: the transport changed from plaintext \(token or insecure\) to tls/,
      checkConfig: false,
    },
  ];

  for (const b of broken) {
    test(`${b.name}: the agent stays up on the old config, logs why, and still reloads`, async () => {
      const serving = (await client.describe()).services.map((s) => s.name);
      writeFileSync(conf, b.yaml());
      const refusal = await hup("config reload refused");
      assert.match(refusal, b.field);
      assert.equal(agent.child.exitCode, null, "agent alive");
      // Old config serving: the old token still authenticates, the declared services are unchanged.
      assert.deepEqual((await client.describe()).services.map((s) => s.name), serving);
      const r = await reload();
      assert.equal(outcomeToWord(r.outcome), "reloaded", r.reason);

      const check = await runAgent(["--config", conf, "--check-config"]);
      if (b.checkConfig) {
        assert.equal(check.code, 2, check.output);
        assert.match(check.output, b.field);
      } else assert.equal(check.code, 0, check.output);

      // A good config is still taken afterwards.
      writeFileSync(conf, good(`  extra-${reloads}:\n    reload: { systemd: extra.service }\n`));
      await hup('"msg":"config reloaded"');
      assert.ok((await client.describe()).services.some((s) => s.name === `extra-${reloads}`));
    });
  }

  test("SIGHUP with a broken token during a check_mode live push: the push finishes and the old file is restored", async () => {
    const before = readFileSync(liveFile);
    const content = Buffer.from("version 2 (the check refuses it)\n");
    const push = client.pushConfig(
      { requestId: "live-during-hup", service: "slow-live", path: liveFile, content, sha256: createHash("sha256").update(content).digest("hex"), allowRestart: false },
      { deadlineMs: 20_000 },
    );
    await waitFor("the live check to start", () => readFileSync(liveFile).equals(content));
    writeFileSync(conf, good().replace(tokenFile, `${scratch.dir}/missing.token`));
    await hup("config reload refused");
    const r = await push;
    assert.equal(r.change, ConfigChange.CONFIG_CHANGE_REJECTED, r.reason);
    assert.match(r.reason, /the previous file was restored/);
    assert.ok(readFileSync(liveFile).equals(before), "old file restored");
    assert.equal(agent.child.exitCode, null, "agent alive");
    const after = await reload();
    assert.equal(outcomeToWord(after.outcome), "reloaded", after.reason);
  });
});

// The read-only web view in a real headless Chromium (Debian's, driven by
// playwright-core): a running rollout on the list page, its host rows changing
// state live without a page reload, and a rejected host's evidence on the
// rollout page. Screenshots go to .scratch/web-view/ in the checkout.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium, type BrowserContext } from "playwright-core";
import { startAgent, type AgentHarness } from "../helpers/agent-harness.js";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";
import { REPO_ROOT, startWebService, type WebService } from "../helpers/web-service.js";

const CHROMIUM = "/usr/bin/chromium";
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not installed (test/install-system-deps.sh installs Debian's chromium)`;
if (missing) console.log(`# skipping web view tests: ${missing}`);
const SHOTS = path.join(REPO_ROOT, ".scratch/web-view");
const REJECTION = "config error: upstream backend has no servers";

describe("web view in headless Chromium", { skip: missing }, () => {
  const scratch = scratchDir();
  const goFile = path.join(scratch.dir, "go");
  const services: WebService[] = [];
  const agents: AgentHarness[] = [];
  let controller: ControllerHarness;
  let browser: BrowserContext;

  before(async () => {
    // b1's check waits for the test's go-ahead, so the rollout is reliably running when the page loads;
    // b3's check refuses the config: rejected, nothing signalled.
    const checks = [`[/bin/sh, -c, "while [ ! -e ${goFile} ]; do sleep 0.05; done"]`, undefined, `[/bin/sh, -c, "echo '${REJECTION}' >&2; exit 1"]`];
    for (const [i, check] of checks.entries()) {
      const svc = await startWebService(scratch.dir, `b${i + 1}`);
      services.push(svc);
      agents.push(
        await startAgent(`listen: 127.0.0.1:0
insecure: true
state_dir: ${scratch.dir}/b${i + 1}-state
services:
  web:
    reload: { signal: HUP, pidfile: ${svc.pidfile} }
    generation: { http: "http://127.0.0.1:${svc.port}/generation", json: generation }
    health: [{ http: "http://127.0.0.1:${svc.port}/healthz" }]
    healthy_for: 200ms
    command_timeout: 2m
${check ? `    check: ${check}\n` : ""}`),
      );
    }
    const file = writeInventory(scratch.dir, `  web:\n    service: web\n    hosts: [${agents.map((a) => a.address).join(", ")}]\n    policy: { canary: 0, batch: 1, max_failures: 0 }\n`, "web: { listen: 127.0.0.1:0 }\n");
    controller = await startController(file);
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launchPersistentContext(path.join(scratch.dir, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      timeout: 60_000,
    });
  });

  after(async () => {
    writeFileSync(goFile, "");
    await browser?.close();
    await controller?.stop();
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(services.map((s) => s.stop()));
    scratch.remove();
  });

  test("the list shows a running rollout whose host rows change live; the rollout page shows a rejected host's evidence", async () => {
    const base = `http://${controller.observability.webAddress}`;
    const cli = runFleet(["reload", "web", "--yes", "--reason", "web view test"], { FLEET_CONTROLLER: controller.address });
    const rollout = await waitFor("the rollout to start its first host", () => controller.core.listRollouts({ limit: 1 }).find((r) => controller.core.showRollout(r.id).steps[0]?.status === "running"), 20_000);
    const [b1, b2, b3] = agents.map((a) => a.address);

    const page = browser.pages()[0] ?? (await browser.newPage());
    let navigations = 0;
    page.on("framenavigated", (f) => f === page.mainFrame() && navigations++);
    await page.goto(`${base}/`);
    const row = (host: string) => page.locator(`#live-part tr[data-rollout="${rollout.id}"][data-host="${host}"] td.status`);
    assert.equal(await page.locator(`#live-part [data-rollout-state="${rollout.id}"]`).textContent(), "running");
    assert.equal(await row(b1!).textContent(), "running");
    assert.equal(await row(b2!).textContent(), "pending");
    await page.locator("#live").filter({ hasText: /^live$/ }).waitFor({ timeout: 10_000 });
    await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
    await page.screenshot({ path: path.join(SHOTS, "list-running.png"), fullPage: true });

    writeFileSync(goFile, "");
    await row(b1!).filter({ hasText: /^reloaded$/ }).waitFor({ timeout: 30_000 });
    await row(b2!).filter({ hasText: /^(running|reloaded)$/ }).waitFor({ timeout: 30_000 });
    await row(b3!).filter({ hasText: /^rejected$/ }).waitFor({ timeout: 30_000 });
    await page.locator(`#live-part [data-rollout-state="${rollout.id}"]`).filter({ hasText: /^failed$/ }).waitFor({ timeout: 30_000 });
    assert.equal(await row(b2!).textContent(), "reloaded");
    assert.equal(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce), true, "the page was not reloaded");
    assert.equal(navigations, 1, "one navigation: the first load");
    await page.screenshot({ path: path.join(SHOTS, "list-finished.png"), fullPage: true });
    assert.equal((await cli).code, 1, "halted on the rejected host");

    await page.goto(`${base}/rollouts/${rollout.id}`);
    const rejected = page.locator(`tr[data-rollout="${rollout.id}"][data-host="${b3}"]`);
    assert.equal(await rejected.locator("td.status").textContent(), "rejected");
    assert.match((await rejected.textContent())!, new RegExp(`check failed \\(exit 1\\): ${REJECTION}`));
    assert.match((await page.locator("ol.plan").textContent())!, new RegExp(b1!.replace(/\./g, "\\.")));
    assert.match((await page.locator("h1").textContent())!, /rollout \d+: reload web \(web\) — failed/);
    await page.screenshot({ path: path.join(SHOTS, "rollout-rejected.png"), fullPage: true });

    // The history filter.
    await page.goto(`${base}/?state=succeeded`);
    assert.equal(await page.locator("#history tbody tr").count(), 0);
    await page.goto(`${base}/?state=failed&group=web`);
    assert.equal(await page.locator("#history tbody tr").count(), 1);
  });

  test("read-only and loopback-only: other methods refused, a foreign Host header refused", async () => {
    const base = `http://${controller.observability.webAddress}`;
    assert.equal((await fetch(`${base}/`, { method: "POST", signal: AbortSignal.timeout(5000) })).status, 405);
    // What a DNS-rebinding page would send: a foreign name resolving to loopback.
    const status = await new Promise<number | undefined>((resolve, reject) =>
      request(`${base}/`, { headers: { host: "evil.example" }, timeout: 5000 }, (res) => (res.resume(), resolve(res.statusCode))).on("error", reject).end(),
    );
    assert.equal(status, 421);
    const res = await fetch(`${base}/rollouts/1`, { signal: AbortSignal.timeout(5000) });
    assert.match(res.headers.get("content-security-policy")!, /script-src 'self'/);
  });
});

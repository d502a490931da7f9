// The exit-code table of the README, against the real `fleet` binary and a real controller with
// real agents: 0 success, 1 failed/halted/aborted/refused, 2 usage or config error (an unknown
// group or rollout too), 3 unreachable (a rollout refused by its preflight for an unreachable host too).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startController, writeInventory, type ControllerHarness } from "../helpers/controller-harness.js";
import { startLocalFleet, type FleetHost } from "../helpers/local-fleet.js";
import { runFleet } from "../helpers/run-cli.js";
import { scratchDir } from "../helpers/scratch-dir.js";

let fleet: Awaited<ReturnType<typeof startLocalFleet>>;
let controller: ControllerHarness;
let hosts: FleetHost[];
const scratch = scratchDir("exit-codes");

before(async () => {
  fleet = await startLocalFleet(scratch.dir, 2, "x");
  hosts = fleet.hosts;
  const groups = `  web:\n    service: web\n    hosts: [${hosts.map((h) => h.address).join(", ")}]\n  down:\n    service: web\n    hosts: [127.0.0.1:1]\n`;
  controller = await startController(writeInventory(scratch.dir, groups));
});

after(async () => {
  await controller?.stop();
  await fleet?.stop();
  scratch.remove();
});

const fleetCli = (args: string[]) => runFleet(["--controller", controller.address, ...args]);

// [what, argv, expected exit code, stderr pattern]
const TABLE: [string, string[], number, RegExp?][] = [
  ["help", ["--help"], 0],
  ["version", ["--version"], 0],
  ["subcommand help", ["reload", "--help"], 0],
  ["unknown command", ["relaod", "web"], 2, /unknown command/],
  ["missing group", ["reload"], 2, /missing required argument/],
  ["misspelled option", ["reload", "web", "--canery", "1"], 2, /Did you mean --canary\?/],
  ["rollout without --file", ["rollout", "web", "--path", "/etc/x.conf"], 2, /--file/],
  ["rollout with an unreadable --file", ["rollout", "web", "--file", "/nonexistent/x.conf", "--path", "/etc/x.conf", "--yes"], 2, /cannot read --file/],
  ["agent subcommand without arguments", ["agent", "reload"], 2, /missing required argument/],
  ["schedule subcommand without a name", ["schedule", "run"], 2, /missing required argument/],
  ["unknown schedule subcommand", ["schedule", "frobnicate", "x"], 2],
  ["non-numeric id", ["show", "abc"], 2, /ID must be a rollout number/],
  ["out-of-range --limit", ["history", "--limit", "0"], 2, /--limit must be 1-1000/],
  ["bare duration", ["reload", "web", "--bake", "30"], 2, /did you mean 30s\?/],
  ["bad --batch", ["reload", "web", "--batch", "0"], 2, /--batch must be/],
  ["unknown group", ["reload", "nosuch", "--yes"], 2, /nosuch/],
  ["a successful reload", ["reload", "web", "--yes", "--canary", "1"], 0],
  ["history", ["history"], 0],
  ["show", ["show", "1"], 0],
  ["status of healthy hosts", ["status", "web"], 0],
  ["status with an unreachable agent", ["status", "down"], 3],
  ["preflight: a rollout whose only host is unreachable is refused", ["reload", "down", "--yes"], 3],
  ["preflight in a dry run, an unreachable host", ["reload", "down", "--dry-run"], 3],
  ["preflight: a config path the service does not declare", ["rollout", "web", "--file", "/etc/hostname", "--path", "/etc/undeclared.conf", "--yes"], 1],
  ["follow of a succeeded rollout", ["follow", "1"], 0],
  ["follow of a rollout its preflight refused for an unreachable host", ["follow", "2"], 3],
  ["follow of an unknown rollout", ["follow", "999"], 2, /no rollout 999/],
  ["follow without an id", ["follow"], 2, /missing required argument/],
  ["promote of a rollout that ended", ["promote", "1"], 1, /not waiting for approval/],
  ["promote of an unknown rollout", ["promote", "999"], 2, /no rollout 999/],
  ["promote with a non-numeric id", ["promote", "x"], 2, /ID must be a rollout number/],
  ["--approve without a canary", ["reload", "web", "--approve", "--canary", "0", "--yes"], 2, /waits after the canary batch/],
  ["resume of a rollout that ended", ["resume", "1", "--yes"], 1, /cannot be resumed: it already ended succeeded/],
  ["resume with a bare --pause", ["resume", "1", "--pause", "5"], 2, /did you mean 5s\?/],
  ["resume with an option it does not take", ["resume", "1", "--canary", "1"], 2, /unknown option/],
  ["history of an unknown group", ["history", "--group", "nope"], 2, /groups: web, down/],
  ["controller status without replication", ["controller", "status"], 0],
  ["unknown controller subcommand", ["controller", "statsu"], 2],
  ["rollout --file without :REMOTE and without --path", ["rollout", "web", "--file", "/etc/hostname"], 2, /expected LOCAL:REMOTE/],
  ["rollout --path with two --file", ["rollout", "web", "--file", "/etc/hostname", "--file", "/etc/hostname", "--path", "/etc/x.conf"], 2, /--path REMOTE goes with exactly one --file/],
  ["rollout with an unreadable --template", ["rollout", "web", "--template", "/nonexistent/t.liquid:/etc/x.conf", "--yes"], 2, /cannot read --template/],
  ["a malformed --select", ["reload", "web", "--select", "zone", "--yes"], 2, /--select: "zone" is not KEY=VALUE/],
  ["--select matching no host", ["reload", "web", "--select", "zone=a", "--yes"], 2, /matches none of group web's hosts:\n.*has no label zone/],
  ["--hosts matching no host", ["reload", "web", "--hosts", "nosuch*", "--yes"], 2, /--hosts nosuch\* matches none/],
  ["schedule pause --force", ["schedule", "pause", "x", "--force"], 2, /unknown option '--force'/],
  ["drift without drift", ["drift", "web"], 0],
  ["drift with an unreachable agent", ["drift", "down"], 3, /cannot tell drift/],
];

test("exit codes of the real binary, table-driven", async () => {
  for (const [what, argv, code, stderr] of TABLE) {
    const r = await fleetCli(argv);
    assert.equal(r.code, code, `${what}: fleet ${argv.join(" ")} exited ${r.code}\n${r.stdout}${r.stderr}`);
    if (stderr) assert.match(r.stderr, stderr, what);
  }
});

test("a halted rollout exits 1; an unreachable controller or agent exits 3", async () => {
  hosts[0]!.setHealthy(false);
  try {
    const halted = await fleetCli(["reload", "web", "--yes", "--canary", "1", "--hosts", hosts[0]!.address]);
    assert.equal(halted.code, 1, halted.stdout + halted.stderr);
  } finally {
    hosts[0]!.setHealthy(true);
  }
  const noController = await runFleet(["--controller", `unix:${scratch.dir}/none.sock`, "history"]);
  assert.equal(noController.code, 3, noController.stderr);
  const noAgent = await runFleet(["agent", "status", "127.0.0.1:1", "--deadline", "2s"]);
  assert.equal(noAgent.code, 3, noAgent.stderr);
});

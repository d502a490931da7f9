// 20 test hosts in network namespaces on a bridge, each running nginx, an
// agent and sshd, with the real fleet-controller daemon beside them. Each run
// times (a) `fleet reload --canary 0 --batch 5`, the CLI process included, with
// full verification and `healthy_for: 0`; (b) the floor (HUP each master, new
// workers, old ones stopped listening, one probe, no transport); (c) the floor
// that stops at the first new worker; (d) the same `fleet reload` with the
// agents' default timings (healthy_for 500ms, probes every 100ms); and (e)
// Ansible (`serial: 5`, `kill -HUP` + a `uri` health gate over ssh) into the
// same hosts; the agents' and the controller's CPU per run of (a), and the
// median run's timeline. Needs root, nginx, sshd and ansible-core.
// BENCH_NET_PROFILES=fleet,floor runs only some of (a)-(e), to look into one.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { execa } from "execa";
import { NGINX, nginxConfText } from "../helpers/nginx.js";
import { scratchDir } from "../helpers/scratch-dir.js";
import { waitFor } from "../helpers/wait-for.js";
import { AGENT_BIN, FLEET_BIN } from "../helpers/built-bins.js";
import { startControllerDaemon } from "../helpers/controller-daemon.js";
import { floorReload, ratioStats, settle, timeStats } from "./bench-support.js";

const BRIDGE = "fleetbench0";
const NET = "10.202.0";

export const networkFleetMissing =
  process.getuid?.() !== 0 ? "needs root" : !existsSync(NGINX) ? "nginx not installed" : !existsSync("/usr/sbin/sshd") ? "sshd not installed (apt-get install openssh-server)" : !existsSync("/usr/bin/ansible-playbook") ? "ansible-core not installed (apt-get install ansible-core)" : undefined;

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: "pipe", timeout: 30_000 });

/** The agents' defaults that the second profile keeps (agent/config/agent-config.ts AGENT_DEFAULTS). */
const DEFAULT_HEALTHY_FOR_MS = 500;

const profiles = new Set((process.env.BENCH_NET_PROFILES ?? "fleet,defaults,floor,firstWorker,ansible").split(",").filter(Boolean));

export async function benchNetworkFleet(n = 20, batch = 5, runs = 5) {
  const scratch = scratchDir("fleet-bench-net-");
  const procs: ChildProcess[] = [];
  // `ip netns exec` execs the agent: these PIDs are the agents themselves.
  const agents: ChildProcess[] = [];
  const stops: (() => Promise<void>)[] = [];
  const hosts: { ns: string; ip: string; dir: string }[] = [];
  try {
    await execa("/usr/sbin/ip", ["link", "del", BRIDGE], { reject: false });
    run("/usr/sbin/ip", ["link", "add", BRIDGE, "type", "bridge"]);
    run("/usr/sbin/ip", ["addr", "add", `${NET}.1/24`, "dev", BRIDGE]);
    run("/usr/sbin/ip", ["link", "set", BRIDGE, "up"]);
    mkdirSync("/run/sshd", { recursive: true });
    const key = path.join(scratch.dir, "id_ed25519");
    run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    for (let i = 1; i <= n; i++) {
      const ns = `fleetb${i}`;
      const ip = `${NET}.${i + 1}`;
      const dir = path.join(scratch.dir, ns);
      mkdirSync(path.join(dir, "tmp"), { recursive: true });
      // Leftovers of an interrupted run: the name and the root end of the veth.
      await execa("/usr/sbin/ip", ["netns", "del", ns], { reject: false });
      await execa("/usr/sbin/ip", ["link", "del", `fvb${i}`], { reject: false });
      run("/usr/sbin/ip", ["netns", "add", ns]);
      run("/usr/sbin/ip", ["link", "add", `fvb${i}`, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      run("/usr/sbin/ip", ["link", "set", `fvb${i}`, "master", BRIDGE, "up"]);
      run("/usr/sbin/ip", ["-n", ns, "addr", "add", `${ip}/24`, "dev", "eth0"]);
      run("/usr/sbin/ip", ["-n", ns, "link", "set", "eth0", "up"]);
      run("/usr/sbin/ip", ["-n", ns, "link", "set", "lo", "up"]);
      writeFileSync(path.join(dir, "nginx.conf"), nginxConfText(dir, "listen 0.0.0.0:8080;", "v1"));
      run("/usr/sbin/ip", ["netns", "exec", ns, NGINX, "-p", `${dir}/`, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`]);
      writeFileSync(path.join(dir, "agent.yaml"), `listen: 0.0.0.0:7601
insecure: true
state_dir: ${dir}/state
limits: { mutations_per_second: 100000 }
services:
  nginx:
    reload: { signal: HUP, pidfile: ${dir}/nginx.pid }
    generation: workers
    healthy_for: 0ms
    health: [{ http: "http://127.0.0.1:8080/healthz" }]
  nginx-defaults:
    reload: { signal: HUP, pidfile: ${dir}/nginx.pid }
    generation: workers
    health: [{ http: "http://127.0.0.1:8080/healthz" }]
`);
      agents.push(spawn("/usr/sbin/ip", ["netns", "exec", ns, AGENT_BIN, "--config", path.join(dir, "agent.yaml"), "--log-level", "warn"], { stdio: "ignore" }));
      run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
      writeFileSync(path.join(dir, "authorized_keys"), readFileSync(`${key}.pub`));
      writeFileSync(path.join(dir, "sshd_config"), `Port 22\nListenAddress ${ip}\nHostKey ${dir}/host_key\nPidFile ${dir}/sshd.pid\nAuthorizedKeysFile ${dir}/authorized_keys\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n`);
      procs.push(spawn("/usr/sbin/ip", ["netns", "exec", ns, "/usr/sbin/sshd", "-D", "-f", path.join(dir, "sshd_config")], { stdio: "ignore" }));
      hosts.push({ ns, ip, dir });
    }
    const addresses = hosts.map((h) => `${h.ip}:7601`).join(", ");
    const sock = path.join(scratch.dir, "controller.sock");
    writeFileSync(
      path.join(scratch.dir, "fleet.yaml"),
      `controller: { listen: "unix:${sock}", db: ${scratch.dir}/history.db }
agents: { deadline: 5s }
groups:
  web: { service: nginx, hosts: [${addresses}] }
  web-defaults: { service: nginx-defaults, hosts: [${addresses}] }
`,
    );
    const controller = await startControllerDaemon(path.join(scratch.dir, "fleet.yaml"));
    stops.push(() => controller.stop());
    const timelines: Timeline[] = [];
    const fleetReload = async (group: string) => {
      const startedAt = Date.now();
      const r = await execa(FLEET_BIN, ["--controller", `unix:${sock}`, "reload", group, "--canary", "0", "--batch", String(batch), "--yes"], { reject: false, all: true, timeout: 120_000 });
      if (r.exitCode !== 0) throw new Error(`fleet reload ${group} exited ${r.exitCode}: ${String(r.all).slice(-2000)}`);
      if (group === "web") timelines.push(lastRolloutTimeline(path.join(scratch.dir, "history.db"), startedAt, Date.now()));
    };
    await waitFor("every agent", async () => (await execa(FLEET_BIN, ["--controller", `unix:${sock}`, "status", "web"], { reject: false })).exitCode === 0, 60_000, 500);

    writeFileSync(path.join(scratch.dir, "inventory.ini"), "[web]\n" + hosts.map((h) => `${h.ns} ansible_host=${h.ip} nginx_pid=${h.dir}/nginx.pid`).join("\n") + "\n");
    writeFileSync(
      path.join(scratch.dir, "play.yml"),
      `- hosts: web
  serial: ${batch}
  gather_facts: false
  tasks:
    - name: reload nginx
      shell: kill -HUP $(cat {{ nginx_pid }})
    - name: health gate
      uri: { url: "http://127.0.0.1:8080/healthz", status_code: 200 }
      register: health
      retries: 10
      delay: 1
      until: health.status == 200
`,
    );
    const ansibleEnv = { ...process.env, ANSIBLE_HOST_KEY_CHECKING: "False", ANSIBLE_PRIVATE_KEY_FILE: key, ANSIBLE_REMOTE_USER: "root", ANSIBLE_PYTHON_INTERPRETER: "/usr/bin/python3", ANSIBLE_SSH_ARGS: "-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no", ANSIBLE_PIPELINING: "True", ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(scratch.dir, "cp"), ANSIBLE_FORKS: String(batch), ANSIBLE_NOCOLOR: "1" };
    const fleet: number[] = [];
    const fleetDefaults: number[] = [];
    const floor: number[] = [];
    const floorFirstWorker: number[] = [];
    const ansible: number[] = [];
    const cpu = { agents: [] as number[], controller: [] as number[] };
    const cpuOf = () => ({ agents: cpuMs(agents.map((a) => a.pid!)), controller: cpuMs([controller.child.pid!]) });
    const timed = async (profile: string, into: number[], fn: () => Promise<void>) => {
      if (!profiles.has(profile)) return;
      const before = cpuOf();
      const t = performance.now();
      await fn();
      into.push(performance.now() - t);
      if (profile === "fleet") {
        const after = cpuOf();
        cpu.agents.push(after.agents - before.agents);
        cpu.controller.push(after.controller - before.controller);
      }
      await settle();
    };
    const floorRun = async (untilRetired: boolean) => {
      for (let i = 0; i < n; i += batch) await Promise.all(hosts.slice(i, i + batch).map((h) => floorReload(path.join(h.dir, "nginx.pid"), `http://${h.ip}:8080/healthz`, untilRetired)));
    };
    for (let r = 0; r < runs; r++) {
      await timed("fleet", fleet, () => fleetReload("web"));
      await timed("defaults", fleetDefaults, () => fleetReload("web-defaults"));
      await timed("floor", floor, () => floorRun(true));
      await timed("firstWorker", floorFirstWorker, () => floorRun(false));
      await timed("ansible", ansible, async () => {
        const a = await execa("/usr/bin/ansible-playbook", ["-i", path.join(scratch.dir, "inventory.ini"), path.join(scratch.dir, "play.yml")], { env: ansibleEnv, reject: false, all: true, timeout: 600_000 });
        if (a.exitCode !== 0) throw new Error(`ansible-playbook failed: ${String(a.all).slice(-2000)}`);
      });
    }
    const windows = Math.ceil(n / batch) * DEFAULT_HEALTHY_FOR_MS;
    return {
      hosts: n,
      batch,
      runs,
      fleet: timeStats(fleet),
      floor: timeStats(floor),
      fleetOverFloor: ratioStats(fleet, floor),
      floorFirstWorker: timeStats(floorFirstWorker),
      fleetOverFirstWorkerFloor: ratioStats(fleet, floorFirstWorker),
      defaults: {
        fleet: timeStats(fleetDefaults),
        healthyWindowsMs: windows,
        // Target: no more than the floor plus the healthy windows plus 15%.
        overFloorPlusWindows: ratioStats(fleetDefaults, floor.map((f) => f + windows)),
      },
      ansible: timeStats(ansible),
      ansibleOverFleet: ratioStats(ansible, fleet),
      ansibleOverFleetDefaults: ratioStats(ansible, fleetDefaults),
      // CPU (user + system) of the 20 agents together and of the controller daemon, per healthy_for-0 run.
      cpuMsPerRun: { agents: timeStats(cpu.agents), controller: timeStats(cpu.controller) },
      // Where one healthy_for-0 run's time went (the median run's), from the history's timestamps.
      timeline: timelines.sort((a, b) => a.totalMs - b.totalMs)[Math.floor(timelines.length / 2)],
      all: { fleet: fleet.map(Math.round), fleetDefaults: fleetDefaults.map(Math.round), floor: floor.map(Math.round), floorFirstWorker: floorFirstWorker.map(Math.round), ansible: ansible.map(Math.round) },
    };
  } finally {
    for (const stop of stops) await stop();
    for (const p of [...agents, ...procs]) p.kill("SIGTERM");
    // Ansible's persistent ssh masters (client side) and everything left in each host (sshd sessions, nginx).
    await execa("/usr/bin/pkill", ["-f", path.join(scratch.dir, "cp")], { reject: false });
    for (const [i, h] of hosts.entries()) {
      // Twice: a master killed mid-respawn can leave a worker forked after the first listing.
      for (let pass = 0; pass < 2; pass++) {
        const pids = (await execa("/usr/sbin/ip", ["netns", "pids", h.ns], { reject: false })).stdout.split("\n").filter(Boolean);
        if (pids.length) await execa("/bin/kill", ["-9", ...pids], { reject: false });
        if (pids.length) await new Promise((r) => setTimeout(r, 100));
      }
      await execa("/usr/sbin/ip", ["netns", "del", h.ns], { reject: false });
      await execa("/usr/sbin/ip", ["link", "del", `fvb${i + 1}`], { reject: false });
    }
    await execa("/usr/sbin/ip", ["link", "del", BRIDGE], { reject: false });
    await new Promise((r) => setTimeout(r, 500));
    scratch.remove();
  }
}

interface Timeline {
  totalMs: number;
  /** CLI start to the rollout's row (start-up, connect, preflight of every host). */
  untilRecordedMs: number;
  untilFirstStepMs: number;
  /** Per batch: the slowest step, and the gap from the previous batch's last finish to this batch's first start. */
  batches: { slowestStepMs: number; gapBeforeMs: number; agentTotalMs: number[]; agentPhases: string[] }[];
  /** The last step's finish to the CLI's exit. */
  afterLastStepMs: number;
}

/** Reads the latest rollout's timestamps (and the agents' own durations) back from the history. */
function lastRolloutTimeline(db: string, cliStart: number, cliEnd: number): Timeline {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const r = d.prepare("SELECT id, created_at AS createdAt FROM rollouts ORDER BY id DESC LIMIT 1").get() as { id: number; createdAt: number };
    const steps = d.prepare("SELECT batch, started_at AS s, finished_at AS f, evidence FROM steps WHERE rollout_id = ? ORDER BY batch, position").all(r.id) as { batch: number; s: number; f: number; evidence: string }[];
    const byBatch = new Map<number, typeof steps>();
    for (const st of steps) byBatch.set(st.batch, [...(byBatch.get(st.batch) ?? []), st]);
    let prevEnd = r.createdAt;
    const batches = [...byBatch.values()].map((b) => {
      const start = Math.min(...b.map((x) => x.s));
      const end = Math.max(...b.map((x) => x.f));
      const out = { slowestStepMs: Math.max(...b.map((x) => x.f - x.s)), gapBeforeMs: start - prevEnd, agentTotalMs: b.map((x) => agentTotal(x.evidence)), agentPhases: b.map((x) => agentPhases(x.evidence)) };
      prevEnd = end;
      return out;
    });
    return { totalMs: cliEnd - cliStart, untilRecordedMs: r.createdAt - cliStart, untilFirstStepMs: Math.min(...steps.map((x) => x.s)) - cliStart, batches, afterLastStepMs: cliEnd - prevEnd };
  } finally {
    d.close();
  }
}

function agentTotal(evidence: string): number {
  try {
    return (JSON.parse(evidence) as { durations?: { totalMs?: number } }).durations?.totalMs ?? -1;
  } catch {
    return -1;
  }
}

/** An agent's total split as "total = outside the window (before the signal and after it) + signal to new generation + healthy window" (ms). */
function agentPhases(evidence: string): string {
  try {
    const d = (JSON.parse(evidence) as { durations?: Record<string, number> }).durations ?? {};
    const [total, gen, healthy] = [d.totalMs ?? 0, d.generationMs ?? 0, d.healthyMs ?? 0];
    return `${total}=${total - gen - healthy}+${gen}+${healthy}`;
  } catch {
    return "?";
  }
}

/** utime + stime of these processes, in ms (/proc/PID/stat counts clock ticks of 10 ms). */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited
    }
  }
  return ticks * 10;
}

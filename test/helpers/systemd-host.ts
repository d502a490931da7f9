// A test host with its own real systemd as PID 1:
// new PID, mount, UTS, IPC and network namespaces; tmpfs over /run, /tmp and
// /var/tmp; unit files in /run/systemd/system. Needs root.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { childrenOf } from "../../agent/process/proc-fs.js";
import { REPO_ROOT } from "./web-service.js";
import { waitFor } from "./wait-for.js";

export const systemdHostMissing =
  process.getuid?.() !== 0
    ? "needs root for namespaces and a systemd test host (CI runs as root)"
    : !existsSync("/lib/systemd/systemd")
      ? "systemd not installed (apt-get install systemd; .ci/run installs it)"
      : undefined;

export interface SystemdHost {
  /** A directory on the real disk, visible inside the host at the same path. */
  dir: string;
  pid1: number;
  run(argv: string[], timeoutMs?: number): Promise<{ exitCode: number; output: string }>;
  spawn(argv: string[]): ChildProcess;
  /**
   * Waits until each unit's main process handles SIGHUP (caught or ignored). `systemctl start`
   * of a simple unit returns once the process is forked; a HUP before its handler is installed
   * kills it, which is the service's start-up race, not what a test means to exercise.
   */
  waitHupHandled(units: string[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `units` receives the host's directory so unit files can refer to files in it.
 * With `overlayRoot` the host gets its own root file system (an overlay on the
 * machine's /, writes kept in the host's upper dir) so `dpkg -i` and /etc edits
 * never touch the machine; then only `dir/shared` is shared, seen inside the
 * host as /run/fleet-shared (or `shared`, which several hosts may bind).
 */
export async function startSystemdHost(name: string, units: (dir: string) => Record<string, string>, options: { overlayRoot?: boolean; shared?: string } = {}): Promise<SystemdHost> {
  // Not under /tmp: the host mounts its own tmpfs there.
  const dir = path.join(REPO_ROOT, ".scratch", `host-${name}-${randomBytes(3).toString("hex")}`);
  mkdirSync(path.join(dir, "units"), { recursive: true });
  chmodSync(dir, 0o755);
  for (const [unit, text] of Object.entries(units(dir))) writeFileSync(path.join(dir, "units", unit), text);
  const script = path.join(dir, "host.sh");
  // The directory seen inside an overlay host as /run/fleet-shared; several hosts may share one.
  const shared = options.shared ?? path.join(dir, "shared");
  mkdirSync(shared, { recursive: true });
  const overlay = `#!/bin/bash
set -e
mount --make-rprivate /
mkdir -p ${dir}/upper ${dir}/work ${dir}/root
mount -t overlay overlay -o lowerdir=/,upperdir=${dir}/upper,workdir=${dir}/work ${dir}/root
mount --rbind /proc ${dir}/root/proc
mount --rbind /sys ${dir}/root/sys
mount --rbind /dev ${dir}/root/dev
mount -t tmpfs tmpfs ${dir}/root/run
mkdir -p ${dir}/root/run/fleet-shared ${dir}/root/run/systemd/system
mount --bind ${shared} ${dir}/root/run/fleet-shared
cp ${dir}/units/* ${dir}/root/run/systemd/system/ 2>/dev/null || true
cd ${dir}/root
mkdir -p oldroot
pivot_root . oldroot
umount -l /oldroot
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
hostname ${name}
ip link set lo up
exec /lib/systemd/systemd --system --unit=basic.target
`;
  writeFileSync(
    script,
    options.overlayRoot ? overlay : `#!/bin/bash
set -e
mount --make-rprivate /
mount -t tmpfs tmpfs /run
# The repository (with this host's dir) may live under /tmp: keep it visible at
# the same path after /tmp becomes the host's own tmpfs.
mkdir -p /run/fleet-repo && mount --bind ${REPO_ROOT} /run/fleet-repo
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
if [ ! -e ${REPO_ROOT}/package.json ]; then mkdir -p ${REPO_ROOT} && mount --bind /run/fleet-repo ${REPO_ROOT}; fi
mkdir -p /run/systemd/system
cp ${dir}/units/* /run/systemd/system/
hostname ${name}
ip link set lo up
exec /lib/systemd/systemd --system --unit=basic.target
`,
  );
  chmodSync(script, 0o755);
  const unshare = spawn("/usr/bin/unshare", ["--pid", "--fork", "--mount", "--uts", "--ipc", "--net", "--mount-proc", script], { stdio: "ignore" });
  const pid1 = await waitFor("the host's PID 1", async () => (await childrenOf(unshare.pid!))[0], 10_000);
  const host: SystemdHost = {
    dir,
    pid1,
    async run(argv, timeoutMs = 30_000) {
      const r = await execa("/usr/bin/nsenter", ["-t", String(pid1), "-a", ...argv], { reject: false, all: true, timeout: timeoutMs });
      return { exitCode: r.exitCode ?? -1, output: String(r.all ?? "") };
    },
    spawn(argv) {
      return spawn("/usr/bin/nsenter", ["-t", String(pid1), "-a", ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    },
    async waitHupHandled(units, timeoutMs = 30_000) {
      for (const unit of units) {
        const script = `pid=$(systemctl show -p MainPID --value ${unit}) && grep -E '^Sig(Cgt|Ign):' /proc/$pid/status`;
        await waitFor(
          `${unit} to handle SIGHUP`,
          async () => {
            const r = await host.run(["/bin/sh", "-c", script], 5000);
            // SigCgt and SigIgn are hex masks; SIGHUP (1) is bit 0 of either.
            return r.exitCode === 0 && [...r.output.matchAll(/^Sig(?:Cgt|Ign):\s*([0-9a-f]+)/gm)].some((m) => (BigInt(`0x${m[1]}`) & 1n) === 1n);
          },
          timeoutMs,
          100,
        );
      }
    },
    async stop() {
      // SIGRTMIN+4 asks systemd for a clean poweroff; node has no name for it.
      await execa("/bin/kill", ["-s", "RTMIN+4", String(pid1)], { reject: false, timeout: 5000 });
      const gone = () => unshare.exitCode !== null || unshare.signalCode !== null;
      await waitFor("the host to power off", gone, 20_000).catch(() => {
        try {
          process.kill(pid1, "SIGKILL");
        } catch {
          // gone
        }
      });
      await waitFor("the host to be gone", gone, 5000).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await waitFor(
    "systemd in the host to finish booting",
    async () => /^(running|degraded)/.test((await host.run(["/usr/bin/systemctl", "is-system-running"], 5000)).output.trim()),
    30_000,
    200,
  );
  return host;
}

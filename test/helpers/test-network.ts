// A bridge in the root network namespace and a veth per test host: hosts get
// addresses on that bridge only, and tests send traffic only to them.
import { execa } from "execa";

async function ip(args: string[]) {
  const r = await execa("/usr/sbin/ip", args, { reject: false, all: true, timeout: 10_000 });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.all}`);
}

export interface TestNetwork {
  /** Gives the host (by its PID 1) an interface eth1 with `address` (e.g. 10.201.77.2/24). */
  attach(pid1: number, address: string): Promise<void>;
  remove(): Promise<void>;
}

export async function createTestNetwork(bridge: string, gateway: string): Promise<TestNetwork> {
  await execa("/usr/sbin/ip", ["link", "del", bridge], { reject: false });
  await ip(["link", "add", bridge, "type", "bridge"]);
  await ip(["addr", "add", gateway, "dev", bridge]);
  await ip(["link", "set", bridge, "up"]);
  const veths: string[] = [];
  return {
    async attach(pid1, address) {
      const veth = `fv${pid1}`.slice(0, 15);
      await ip(["link", "add", veth, "type", "veth", "peer", "name", "eth1", "netns", `/proc/${pid1}/ns/net`]);
      veths.push(veth);
      await ip(["link", "set", veth, "master", bridge, "up"]);
      await execa("/usr/bin/nsenter", ["-t", String(pid1), "-n", "/usr/sbin/ip", "addr", "add", address, "dev", "eth1"], { timeout: 10_000 });
      await execa("/usr/bin/nsenter", ["-t", String(pid1), "-n", "/usr/sbin/ip", "link", "set", "eth1", "up"], { timeout: 10_000 });
    },
    async remove() {
      for (const v of veths) await execa("/usr/sbin/ip", ["link", "del", v], { reject: false });
      await execa("/usr/sbin/ip", ["link", "del", bridge], { reject: false });
    },
  };
}

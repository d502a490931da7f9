// Swaps two paths with renameat2(RENAME_EXCHANGE) in a tight loop, as an
// attacker with write access to a parent directory would (python3 + ctypes).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";

export const python = ["/usr/bin/python3", "/usr/local/bin/python3"].find(existsSync);

/** Swaps two paths, one of them a symlink, with renameat2(RENAME_EXCHANGE) until SIGTERM; then puts them back and prints how many swaps it made. */
const SWAPPER = `
import ctypes, os, sys, signal, time, random
libc = ctypes.CDLL(None, use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
AT_FDCWD, RENAME_EXCHANGE = -100, 2
a, b = sys.argv[1].encode(), sys.argv[2].encode()
# One of the two is the attacker's symlink; which one sits at a tells the swaps apart (a pushed
# file gets a new inode, but stays a file).
if os.path.islink(a) == os.path.islink(b): sys.exit("one of the two paths must be a symlink")
a_is_link = os.path.islink(a)
stopping = False
def stop(*_):
    # Only a flag: a handler may run between renameat2's return and the count's
    # update, so the loop below restores from what is on disk, not from a count.
    global stopping
    stopping = True
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
swaps = 0
while not stopping:
    if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")
    swaps += 1
    time.sleep(random.random() * 0.0005)
# Leave things as they were: the real entry back at its declared place.
if os.path.islink(a) != a_is_link: libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
print(swaps, flush=True)
`;

export function startSwapper(a: string, b: string): Promise<{ stop(): Promise<number> }> {
  const child: ChildProcess = spawn(python!, ["-c", SWAPPER, a, b], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`swapper exited ${code}`)));
    child.stdout!.once("data", () =>
      resolve({
        stop: () =>
          new Promise<number>((done, fail) => {
            child.removeAllListeners("exit");
            // A swapper that died early (renameat2 failed) has no exit left to wait for.
            if (child.exitCode !== null || child.signalCode !== null) return fail(new Error(`swapper exited early (${child.exitCode ?? child.signalCode})`));
            child.once("exit", (code) => (code === 0 ? done(Number(out.split("\n")[1])) : fail(new Error(`swapper exited ${code}`))));
            child.kill("SIGTERM");
          }),
      }),
    );
  });
}

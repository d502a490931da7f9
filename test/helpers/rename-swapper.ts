// Swaps two paths with renameat2(RENAME_EXCHANGE) in a tight loop, as an
// attacker with write access to a parent directory would (python3 + ctypes).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";

export const python = ["/usr/bin/python3", "/usr/local/bin/python3"].find(existsSync);

/** Swaps two paths with renameat2(RENAME_EXCHANGE) until killed; prints how many swaps it made. */
const SWAPPER = `
import ctypes, os, sys, signal, time, random
libc = ctypes.CDLL(None, use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
AT_FDCWD, RENAME_EXCHANGE = -100, 2
a, b = sys.argv[1].encode(), sys.argv[2].encode()
a_ino = os.lstat(a).st_ino
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
if os.lstat(a).st_ino != a_ino: libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
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
          new Promise<number>((done) => {
            child.removeAllListeners("exit");
            child.once("exit", () => done(Number(out.split("\n")[1])));
            child.kill("SIGTERM");
          }),
      }),
    );
  });
}

// The program that runs inside the check's private mount namespace
// (`unshare --mount --propagation private -- node -e HELPER -- OPS -- CHECK`).
// It takes operations as argv (never a shell: no path is ever part of code),
// applies them, then runs the check and exits with its status. Mounts made
// here exist only in this namespace; the only files it creates are inside the
// tmpfs it mounted itself, so nothing on the real filesystems is written.
//
// Operations (fixed arity):
//   tmpfs DIR            mount a fresh tmpfs on DIR (the agent's empty scratch directory)
//   mkdir PATH           a directory inside that tmpfs
//   touch PATH           an empty file inside that tmpfs (a bind-mount target for a new file)
//   whiteout PATH        an overlayfs whiteout inside that tmpfs (hides a file being removed)
//   overlay DIR UP WORK  overlayfs over DIR (lower: DIR itself, upper/work: in the tmpfs)
//   bind SRC DST ID      bind-mount SRC over DST, where SRC must still be the very file ID
//                        ("DEV:INO", as the agent wrote it): SRC is opened without following a
//                        symlink, checked, and mounted from that open file (/proc/self/fd/3 of
//                        mount), so a symlink renamed over the staged name in between cannot
//                        make the check see (or write) another file; a symlink at DST is refused
//
// Kept as plain CommonJS source so it runs as `node -e` from the sources and
// from the bundled build alike, with no file to install.

/** Exit status when the namespace could not be prepared (the check did not run). */
export const SETUP_FAILED_EXIT = 125;
export const SETUP_FAILED_MARKER = "fleet check namespace:";

export const NAMESPACE_HELPER = `"use strict";
const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const ARITY = { tmpfs: 1, mkdir: 1, touch: 1, whiteout: 1, overlay: 3, bind: 3 };
const fail = (msg) => {
  process.stderr.write(${JSON.stringify(SETUP_FAILED_MARKER)} + " " + msg + "\\n");
  process.exit(${SETUP_FAILED_EXIT});
};
const run = (argv, fd) => {
  const stdio = fd === undefined ? ["ignore", "pipe", "pipe"] : ["ignore", "pipe", "pipe", fd];
  const r = spawnSync(argv[0], argv.slice(1), { stdio, encoding: "utf8" });
  if (r.status !== 0) fail(argv.join(" ") + ": " + (r.error ? r.error.message : (r.stderr || r.stdout || "exit " + r.status).trim()));
};
const args = process.argv.slice(1);
// Every staged file is opened (no symlink followed) and checked to be the very file the agent
// wrote BEFORE any mount: overlays mounted later over its directory cannot change what is bound.
const stagedFds = new Map();
for (let j = 0; args[j] !== undefined && args[j] !== "--"; ) {
  const op = args[j];
  const n = Object.prototype.hasOwnProperty.call(ARITY, op) ? ARITY[op] : 0;
  if (op === "bind") {
    const [src, , id] = args.slice(j + 1, j + 4);
    let fd;
    try {
      fd = fs.openSync(src, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch (err) {
      fail(src + ": " + err.message);
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.dev + ":" + st.ino !== id) fail(src + " is no longer the staged file the agent wrote");
    stagedFds.set(src, fd);
  }
  j += n + 1;
}
let root = "";
const inRoot = (p) => {
  if (!root || !p.startsWith(root + "/") || p.split("/").includes("..")) fail(p + " is not inside the namespace's own tmpfs");
  return p;
};
let i = 0;
while (args[i] !== "--") {
  const op = args[i];
  const n = Object.prototype.hasOwnProperty.call(ARITY, op) ? ARITY[op] : undefined;
  if (n === undefined || i + n >= args.length) fail("bad operation " + JSON.stringify(op));
  const [a, b, c] = args.slice(i + 1, i + 1 + n);
  i += n + 1;
  try {
    if (op === "tmpfs") {
      run(["mount", "-n", "-t", "tmpfs", "-o", "mode=0700", "fleet-check", a]);
      root = a;
    } else if (op === "mkdir") fs.mkdirSync(inRoot(a), { mode: 0o700 });
    else if (op === "touch") fs.writeFileSync(inRoot(a), "", { flag: "wx", mode: 0o600 });
    else if (op === "whiteout") run(["mknod", inRoot(a), "c", "0", "0"]);
    else if (op === "overlay") run(["mount", "-n", "-t", "overlay", "-o", "lowerdir=" + a + ",upperdir=" + inRoot(b) + ",workdir=" + inRoot(c), "fleet-check", a]);
    else {
      if (fs.lstatSync(b).isSymbolicLink()) fail(b + " is a symbolic link; a declared config path must be a file");
      run(["mount", "-n", "--bind", "/proc/self/fd/3", b], stagedFds.get(a));
    }
  } catch (err) {
    fail(op + " " + a + ": " + err.message);
  }
}
const check = args.slice(i + 1);
if (!check.length) fail("no check command");
const child = spawn(check[0], check.slice(1), { stdio: "inherit" });
child.on("error", (err) => fail("cannot start " + check[0] + ": " + err.message));
child.on("exit", (code, signal) => process.exit(code !== null ? code : 128 + (require("node:os").constants.signals[signal] || 0)));
`;

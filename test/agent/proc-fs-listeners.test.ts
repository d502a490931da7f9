// listeningSocketInodes stops reading the TCP tables at the first row that is
// not listening; against real sockets it must find exactly what a full read
// of the tables finds, however many connections follow the listeners.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { holdsAnySocket, listeningSocketInodes, socketInodes } from "../../agent/process/proc-fs.js";

const servers: Server[] = [];
const sockets: Socket[] = [];

function listen(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => sockets.push(c)).once("error", reject);
    s.listen(0, host, () => resolve(s));
    servers.push(s);
  });
}

/** The oracle: every LISTEN row of both tables, read whole. */
function fullTableListeners(pid: number): Set<number> {
  const found = new Set<number>();
  for (const t of ["tcp", "tcp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/net/${t}`, "latin1");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === "0A") found.add(Number(cols[9]));
    }
  }
  return found;
}

before(async () => {
  const v4 = await listen("127.0.0.1");
  await listen("127.0.0.1");
  const hasV6 = await listen("::1").then(
    () => true,
    () => false,
  );
  if (!hasV6) console.log("# no IPv6 loopback here: the tcp6 table is checked with no listener in it");
  // Far more than one page of connection rows after the listeners.
  const port = (v4.address() as { port: number }).port;
  await Promise.all(
    Array.from({ length: 600 }, () => new Promise<void>((resolve, reject) => sockets.push(createConnection(port, "127.0.0.1", resolve).once("error", reject)))),
  );
});

after(() => {
  sockets.forEach((s) => s.destroy());
  servers.forEach((s) => s.close());
});

test("the listening sockets a process holds: the same as a full read of the TCP tables", async () => {
  const held = await socketInodes(process.pid);
  const expected = [...fullTableListeners(process.pid)].filter((i) => held.has(i)).sort((a, b) => a - b);
  assert.ok(expected.length >= 2, `at least the two IPv4 listeners (found ${expected.length})`);
  assert.deepEqual(await listeningSocketInodes(process.pid), expected);
  const rows = readFileSync(`/proc/${process.pid}/net/tcp`, "latin1").length;
  assert.ok(rows > 4096 * 4, `the table is several pages long (${rows} bytes), so stopping early matters`);
});

test("holdsAnySocket: finds a listener among the first fds and a connection past a thousand others; undefined once closed", async () => {
  const listeners = new Set(await listeningSocketInodes(process.pid));
  const fd = await holdsAnySocket(process.pid, listeners);
  assert.ok(fd !== undefined && fd < 1024, `a listener among the first fds (fd ${fd})`);
  const all = await socketInodes(process.pid);
  assert.ok(all.size > 1024, `more socket fds than one scanning turn reads (${all.size})`);
  const last = Math.max(...all);
  assert.notEqual(await holdsAnySocket(process.pid, new Set([last])), undefined, "the scan reaches the last fds");
  assert.equal(await holdsAnySocket(process.pid, new Set([1])), undefined, "an inode this process does not hold");
  const s = servers.pop()!;
  const before = await listeningSocketInodes(process.pid);
  const fdOf = new Map(await Promise.all(before.map(async (i) => [i, (await holdsAnySocket(process.pid, new Set([i])))!] as const)));
  await new Promise((r) => s.close(r));
  const after = new Set(await listeningSocketInodes(process.pid));
  const gone = new Set(before.filter((i) => !after.has(i)));
  assert.equal(gone.size, 1, "closing one server removes one listener");
  assert.equal(await holdsAnySocket(process.pid, gone), undefined);
  // With the fd where the closed listener was seen as the hint: that link no longer shows it.
  assert.equal(await holdsAnySocket(process.pid, gone, fdOf.get([...gone][0]!)), undefined, "a stale hint is no answer");
});

test("holdsAnySocket with tryFirst: one link while the answer holds; a hint that shows another socket or nothing falls back to the scan", async () => {
  const listeners = new Set(await listeningSocketInodes(process.pid));
  const fd = (await holdsAnySocket(process.pid, listeners))!;
  assert.equal(await holdsAnySocket(process.pid, listeners, fd), fd, "the hint confirmed");
  // A hint at an fd holding a socket that is not one of these (the last connection), at stdin, and at no fd at all.
  const all = [...(await socketInodes(process.pid))];
  const other = (await holdsAnySocket(process.pid, new Set([Math.max(...all)])))!;
  for (const hint of [other, 0, 1 << 20]) assert.equal(await holdsAnySocket(process.pid, listeners, hint), fd, `hint ${hint}: the scan finds fd ${fd}`);
  assert.equal(await holdsAnySocket(process.pid, new Set([1]), fd), undefined, "a hint at a listener that is not among the inodes asked for");
});

test("a process that holds no sockets, and one that is gone: nothing", async () => {
  assert.deepEqual(await listeningSocketInodes(1 << 22), []);
});

// A small real web service that reloads its config on SIGHUP, for the demo and
// the tests. It serves /healthz and /generation and writes a pidfile.
//
//   --port N --pidfile FILE --config FILE [--log FILE] [--mode normal|ignore-hup|reexec]
//
// The config file is JSON: {"healthy": true, "body": "ok"}. On SIGHUP it is
// re-read; an unparsable file is rejected with an "[emerg]" line in the log and
// the old config keeps serving (like nginx). --mode ignore-hup never reloads;
// --mode reexec answers SIGHUP by starting a fresh copy under a new PID.
import { spawn } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    pidfile: { type: "string" },
    config: { type: "string" },
    log: { type: "string" },
    mode: { type: "string", default: "normal" },
    host: { type: "string", default: "127.0.0.1" },
  },
});

interface ServiceConfig {
  healthy: boolean;
  body: string;
}

const log = (line: string) => values.log && appendFileSync(values.log, `${new Date().toISOString()} ${line}\n`);
const load = (): ServiceConfig => {
  const raw = JSON.parse(readFileSync(values.config!, "utf8")) as Partial<ServiceConfig>;
  return { healthy: raw.healthy !== false, body: raw.body ?? "ok" };
};

let config = load();
let generation = 1;
let reloads = 0;

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(config.healthy ? 200 : 503, { "content-type": "text/plain" });
    res.end(config.healthy ? config.body : "unhealthy");
  } else if (req.url === "/generation") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ generation, reloads, pid: process.pid }));
  } else {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(config.body);
  }
});
server.listen(Number(values.port), values.host, () => {
  if (values.pidfile) writeFileSync(values.pidfile, `${process.pid}\n`);
  log(`[notice] started pid ${process.pid} on port ${values.port}`);
});

process.on("SIGHUP", () => {
  reloads++;
  if (values.mode === "ignore-hup") return;
  if (values.mode === "reexec") {
    log(`[notice] re-executing on SIGHUP`);
    server.close();
    server.closeAllConnections();
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { detached: true, stdio: "ignore" });
    child.unref();
    setTimeout(() => process.exit(0), 50);
    return;
  }
  try {
    config = load();
    generation++;
    log(`[notice] reloaded, generation ${generation}`);
  } catch (err) {
    log(`[emerg] cannot load ${values.config}: ${(err as Error).message}`);
  }
});
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});

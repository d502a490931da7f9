// One health probe, on a fresh connection every time, with its own deadline.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { ProbeSpec } from "../config/agent-config.js";
import type { CommandRunner } from "../process/command-runner.js";

export interface ProbeOutcome {
  probe: string;
  ok: boolean;
  /** The connection was refused: nothing was listening. */
  refused: boolean;
  detail: string;
  durationMs: number;
}

export function probeLabel(spec: ProbeSpec): string {
  switch (spec.kind) {
    case "http":
      return `http ${spec.url} -> ${spec.status}${spec.body ? ` /${spec.body.source}/` : ""}`;
    case "tcp":
      return `tcp ${spec.host}:${spec.port}`;
    case "exec":
      return `exec ${spec.argv.join(" ")}`;
  }
}

export async function runProbe(spec: ProbeSpec, runner: CommandRunner): Promise<ProbeOutcome> {
  const started = performance.now();
  const done = (ok: boolean, detail: string, refused = false): ProbeOutcome => ({
    probe: probeLabel(spec),
    ok,
    refused,
    detail,
    durationMs: Math.round(performance.now() - started),
  });
  switch (spec.kind) {
    case "http":
      return httpProbe(spec).then(
        ({ status, body }) => {
          if (status !== spec.status) return done(false, `status ${status}, expected ${spec.status}`);
          if (spec.body && !spec.body.test(body)) return done(false, `body does not match /${spec.body.source}/`);
          return done(true, `status ${status}`);
        },
        (err: NodeJS.ErrnoException) => done(false, err.message, err.code === "ECONNREFUSED"),
      );
    case "tcp":
      return new Promise((resolve) => {
        const socket = net.connect({ host: spec.host, port: spec.port });
        const timer = setTimeout(() => finish(false, `no connection within ${spec.timeoutMs}ms`), spec.timeoutMs);
        const finish = (ok: boolean, detail: string, refused = false) => {
          clearTimeout(timer);
          socket.destroy();
          resolve(done(ok, detail, refused));
        };
        socket.once("connect", () => finish(true, "connected"));
        socket.once("error", (err: NodeJS.ErrnoException) => finish(false, err.message, err.code === "ECONNREFUSED"));
      });
    case "exec": {
      const r = await runner.run(spec.argv, { timeoutMs: spec.timeoutMs });
      if (r.timedOut) return done(false, `timed out after ${spec.timeoutMs}ms`);
      return done(r.exitCode === 0, `exit ${r.exitCode}${r.output ? `: ${r.output.slice(0, 200)}` : ""}`);
    }
  }
}

const MAX_BODY = 64 * 1024;

function httpProbe(spec: Extract<ProbeSpec, { kind: "http" }>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const mod = spec.url.startsWith("https:") ? https : http;
    // agent: false = a new connection per probe, so a dead listener cannot hide behind keep-alive.
    const req = mod.get(spec.url, { agent: false, timeout: spec.timeoutMs, headers: { connection: "close", "user-agent": "fleet-agent-probe" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (body.length < MAX_BODY) body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no response within ${spec.timeoutMs}ms`)));
    req.on("error", reject);
  });
}

// HTTPS requests with (or without) a client certificate, for the metrics and
// web listeners with tls: what a scraper or a browser with a certificate sends.
import { readFileSync } from "node:fs";
import { request, type RequestOptions } from "node:https";
import { connect } from "node:tls";
import type { IncomingMessage } from "node:http";
import path from "node:path";

/** The CA the client trusts, and the certificate it presents (none: no client certificate). */
export interface HttpsClient {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** A client presenting `dir`'s `role-NAME` certificate (as `fleet certs issue` names it), trusting `ca`. */
export function certClient(dir: string, file: string, ca: Buffer): HttpsClient {
  return { ca, cert: readFileSync(path.join(dir, `${file}.crt`)), key: readFileSync(path.join(dir, `${file}.key`)) };
}

function open(address: string, urlPath: string, client: HttpsClient, timeoutMs: number): Promise<IncomingMessage> {
  const port = Number(address.split(":").pop());
  const host = address.slice(0, address.lastIndexOf(":")).replace(/^\[|\]$/g, "");
  const options: RequestOptions = { host, port, path: urlPath, ...client, agent: false, timeout: timeoutMs };
  return new Promise((resolve, reject) => {
    const req = request(options, resolve);
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** GET over HTTPS: the status and the body; rejects when the connection fails (a refused handshake). */
export async function httpsGet(address: string, urlPath: string, client: HttpsClient, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const res = await open(address, urlPath, client, timeoutMs);
  res.setEncoding("utf8");
  let body = "";
  for await (const chunk of res) body += chunk;
  return { status: res.statusCode!, body };
}

/** The error a GET fails with (a test that expects the handshake refused); throws if it got an answer. */
export async function httpsRefused(address: string, urlPath: string, client: HttpsClient): Promise<NodeJS.ErrnoException> {
  try {
    const r = await httpsGet(address, urlPath, client);
    throw Object.assign(new Error(`expected the connection refused, got HTTP ${r.status}: ${r.body.slice(0, 200)}`), { answered: true });
  } catch (err) {
    if ((err as { answered?: boolean }).answered) throw err;
    return err as NodeJS.ErrnoException;
  }
}

/** A server-sent event stream over HTTPS: its text so far, and whether the server ended it. */
export interface EventStreamReader {
  status: number;
  text(): string;
  ended(): boolean;
  close(): void;
}

export async function openEventStream(address: string, urlPath: string, client: HttpsClient): Promise<EventStreamReader> {
  // No timeout on an event stream: it stays open (the test closes it).
  const res = await open(address, urlPath, client, 0);
  let text = "";
  let ended = false;
  res.setEncoding("utf8");
  res.on("data", (d: string) => (text += d));
  res.on("end", () => (ended = true));
  res.on("close", () => (ended = true));
  res.on("error", () => (ended = true));
  return { status: res.statusCode!, text: () => text, ended: () => ended, close: () => res.destroy() };
}

/** One keep-alive TLS connection: get() sends a request on it and returns the answer's status line, or what ended the connection. */
export interface KeepAliveConnection {
  get(urlPath: string): Promise<string>;
  close(): void;
}

export async function keepAliveConnection(address: string, client: HttpsClient): Promise<KeepAliveConnection> {
  const port = Number(address.split(":").pop());
  const host = address.slice(0, address.lastIndexOf(":")).replace(/^\[|\]$/g, "");
  const s = connect({ host, port, ...client });
  let buf = "";
  let closed = "";
  s.on("data", (d: Buffer) => (buf += d.toString("latin1")));
  s.on("close", () => (closed ||= "connection closed"));
  s.on("error", (e) => (closed = `error ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => (s.destroy(), reject(new Error("no handshake in 5 s"))), 5000);
    s.once("secureConnect", () => (clearTimeout(timer), resolve()));
    s.once("error", (e) => (clearTimeout(timer), reject(e)));
  });
  return {
    async get(urlPath) {
      if (closed) return closed;
      buf = "";
      s.write(`GET ${urlPath} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const deadline = Date.now() + 5000;
      while (!closed && !/^HTTP\/1\.1 \d+[^\r]*\r\n/.test(buf) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return /^HTTP\/1\.1 \d+[^\r]*/.exec(buf)?.[0] ?? (closed || "no answer in 5 s");
    },
    close: () => s.destroy(),
  };
}

// HTTPS requests with (or without) a client certificate, for the metrics and
// web listeners with tls: what a scraper or a browser with a certificate sends.
import { readFileSync } from "node:fs";
import { request, type RequestOptions } from "node:https";
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

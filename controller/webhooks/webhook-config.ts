// fleet.yaml's `webhooks:` list: parsed purely here; the secret files are read
// when the inventory is read (resolveWebhookSecrets), so a missing or empty
// secret is a config error at start-up or SIGHUP, not a failed delivery later.
import { readSmallFile } from "../../common/read-small-file.js";
import { MAX_CREDENTIAL_BYTES } from "../inventory/resolve-credentials.js";
import type { ConfigProblem } from "../../common/errors.js";
import { Problems, absolutePath, duration, noUnknownKeys, oneOf, record, string, type Path } from "../../common/field-checks.js";

export const WEBHOOK_EVENTS = [
  "started", "waiting_for_approval", "halted", "finished", "failed", "aborted", "interrupted", "schedule_skipped", "schedule_failed",
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookEndpoint {
  name: string;
  url: string;
  events: WebhookEvent[];
  /** Only rollouts of these groups; empty = every group. */
  groups: string[];
  format: "json" | "slack";
  secretFile?: string;
  /** Read from secretFile when the inventory is read. */
  secret?: Buffer;
  /** Per attempt. */
  timeoutMs: number;
  /** Retries stop this long after the event. */
  deadlineMs: number;
}

export const WEBHOOK_DEFAULTS = { timeoutMs: 10_000, deadlineMs: 600_000 } as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const KEYS = ["name", "url", "events", "groups", "format", "secret_file", "timeout", "deadline"];

export function parseWebhooks(v: unknown, groupNames: string[], p: Problems): WebhookEndpoint[] {
  if (!Array.isArray(v)) return p.add(["webhooks"], "must be a list of {name, url, secret_file, events, groups, format}") ?? [];
  const out: WebhookEndpoint[] = [];
  v.forEach((raw, i) => {
    const w = parseWebhook(raw, ["webhooks", i], groupNames, p);
    if (w && out.some((x) => x.name === w.name)) p.add(["webhooks", i, "name"], `${w.name} is used by another webhook`);
    else if (w) out.push(w);
  });
  return out;
}

function parseWebhook(raw: unknown, path: Path, groupNames: string[], p: Problems): WebhookEndpoint | undefined {
  const w = record(raw, path, p);
  if (!w) return undefined;
  noUnknownKeys(w, KEYS, path, p);
  const name = string(w.name, [...path, "name"], p);
  if (name && !NAME.test(name)) p.add([...path, "name"], "must be 1-64 letters, digits, '_', '.' or '-'");
  const url = httpUrl(w.url, [...path, "url"], p);
  const format = w.format === undefined ? "json" : oneOf(w.format, ["json", "slack"] as const, [...path, "format"], p);
  const secretFile = w.secret_file === undefined ? undefined : absolutePath(w.secret_file, [...path, "secret_file"], p);
  if (w.secret_file === undefined && format === "json") p.add([...path, "secret_file"], "is required: every JSON delivery is signed (HMAC-SHA256) with the secret in this file");
  const events = w.events === undefined ? [...WEBHOOK_EVENTS] : wordList(w.events, WEBHOOK_EVENTS, [...path, "events"], p);
  const groups = w.groups === undefined ? [] : wordList(w.groups, groupNames, [...path, "groups"], p);
  const timeoutMs = w.timeout === undefined ? WEBHOOK_DEFAULTS.timeoutMs : duration(w.timeout, [...path, "timeout"], p, 300_000);
  const deadlineMs = w.deadline === undefined ? WEBHOOK_DEFAULTS.deadlineMs : duration(w.deadline, [...path, "deadline"], p, 86_400_000);
  if (!name || !url || !format || !events || !groups || timeoutMs === undefined || deadlineMs === undefined) return undefined;
  if (timeoutMs <= 0 || deadlineMs <= 0) return p.add(path, "timeout and deadline must be longer than 0");
  return { name, url, format, events, groups, timeoutMs, deadlineMs, ...(secretFile ? { secretFile } : {}) };
}

function httpUrl(v: unknown, path: Path, p: Problems): string | undefined {
  const s = string(v, path, p);
  if (s === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return p.add(path, `is not a URL: ${JSON.stringify(s)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return p.add(path, `must be an http:// or https:// URL, got ${JSON.stringify(s)}`);
  if (u.username || u.password) return p.add(path, "must not carry credentials; sign with secret_file instead");
  return s;
}

function wordList<T extends string>(v: unknown, allowed: readonly T[], path: Path, p: Problems): T[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return p.add(path, `must be a non-empty list of: ${allowed.join(", ") || "(none defined)"}`);
  const out: T[] = [];
  v.forEach((x, i) => {
    const word = oneOf(x, allowed, [...path, i], p);
    if (word && !out.includes(word)) out.push(word);
  });
  return out.length === v.length ? out : undefined;
}

/** Reads every webhook's secret file; returns the problems (unreadable, empty). */
export async function resolveWebhookSecrets(endpoints: WebhookEndpoint[]): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  await Promise.all(
    endpoints.map(async (w, i) => {
      if (!w.secretFile) return;
      const path = ["webhooks", i, "secret_file"];
      // Like the agents' credentials: a FIFO or a device in its place is refused, never waited on.
      const read = readSmallFile(w.secretFile, MAX_CREDENTIAL_BYTES);
      if (!read.ok) return void problems.push({ path, message: read.code ? `cannot read ${w.secretFile}: ${read.code}` : read.reason });
      const secret = Buffer.from(read.bytes.toString("utf8").trim());
      if (secret.length < 16) problems.push({ path, message: `${w.secretFile} holds ${secret.length} bytes; a signing secret needs at least 16` });
      else w.secret = secret;
    }),
  );
  return problems;
}

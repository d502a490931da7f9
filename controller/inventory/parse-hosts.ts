// A group's hosts as fleet.yaml writes them: a list of agent addresses (each
// host named by its address), or a mapping of host names to an address or to
// { address, vars, labels }. Pure; every problem is reported with its field.
import { isRecord, Problems, type Path } from "../../common/field-checks.js";
import type { InventoryHost } from "./inventory.js";
import { hostKey } from "./host-key.js";

export const ADDRESS = /^(unix:\/.+|[A-Za-z0-9.-]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5})$/;
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Usable as `labels.KEY` in a template and as KEY in --select. */
const LABEL_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
/** No ',', '=', '!' or spaces: a value must be writable in --select zone=VALUE. */
const LABEL_VALUE = /^[A-Za-z0-9_.\/-]{0,63}$/;
/** Usable as `vars.NAME` in a template. */
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const HOSTS_FORM = "a non-empty list of agent addresses (HOST:PORT or unix:/PATH), or a mapping of host names to an address or to { address, vars, labels }";

export function parseHosts(raw: unknown, path: Path, p: Problems): InventoryHost[] {
  const empty = Array.isArray(raw) ? raw.length === 0 : isRecord(raw) && Object.keys(raw).length === 0;
  if (empty || !(Array.isArray(raw) || isRecord(raw))) return p.add(path, `must be ${HOSTS_FORM}`) ?? [];
  return Array.isArray(raw) ? listForm(raw, path, p) : mapForm(raw, path, p);
}

function listForm(raw: unknown[], path: Path, p: Problems): InventoryHost[] {
  const out: InventoryHost[] = [];
  // By hostKey, each computed once: comparing every pair took minutes at 10,000 hosts.
  const seen = new Map<string, InventoryHost>();
  raw.forEach((a, i) => {
    if (typeof a !== "string" || !ADDRESS.test(a)) return p.add([...path, i], `must be HOST:PORT or unix:/PATH, got ${JSON.stringify(a)}`);
    const key = hostKey(a);
    const twin = seen.get(key);
    if (twin) return p.add([...path, i], sameAgent(a, twin.address));
    const host = { name: a, address: a, vars: {}, labels: {} };
    seen.set(key, host);
    out.push(host);
  });
  return out;
}

function mapForm(raw: Record<string, unknown>, path: Path, p: Problems): InventoryHost[] {
  const out: InventoryHost[] = [];
  const seen = new Map<string, InventoryHost>();
  for (const [name, entry] of Object.entries(raw)) {
    const at = [...path, name];
    if (!HOST_NAME.test(name)) p.add(at, `host name must be 1-128 letters, digits, '_', '.' or '-' (starting with a letter or digit), got ${JSON.stringify(name)}`);
    const host = hostEntry(name, entry, at, p);
    if (!host) continue;
    const key = hostKey(host.address);
    const twin = seen.get(key);
    if (twin) p.add([...at, "address"], `${host.address} is also the address of host ${twin.name}${twin.address === host.address ? "" : ` (${twin.address}: the same agent)`}`);
    else {
      seen.set(key, host);
      out.push(host);
    }
  }
  return out;
}

function hostEntry(name: string, entry: unknown, at: Path, p: Problems): InventoryHost | undefined {
  if (typeof entry === "string") return address(entry, at, p) ? { name, address: entry, vars: {}, labels: {} } : undefined;
  if (!isRecord(entry)) return p.add(at, `must be an agent address or { address, vars, labels }, got ${describe(entry)}`);
  for (const key of Object.keys(entry)) if (!["address", "vars", "labels"].includes(key)) p.add([...at, key], "unknown field; allowed: address, vars, labels");
  const ok = address(entry.address, [...at, "address"], p);
  const vars = entry.vars === undefined ? {} : parseVars(entry.vars, [...at, "vars"], p);
  const labels = entry.labels === undefined ? {} : parseLabels(entry.labels, [...at, "labels"], p);
  return ok ? { name, address: entry.address as string, vars, labels } : undefined;
}

function address(v: unknown, at: Path, p: Problems): boolean {
  if (typeof v === "string" && ADDRESS.test(v)) return true;
  p.add(at, `must be HOST:PORT or unix:/PATH, got ${describe(v)}`);
  return false;
}

/** Template variables: names usable as vars.NAME; values any YAML scalar, list or mapping. */
export function parseVars(raw: unknown, at: Path, p: Problems): Record<string, unknown> {
  if (!isRecord(raw)) return p.add(at, `must be a mapping of variable names to values, got ${describe(raw)}`) ?? {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!VAR_NAME.test(k)) p.add([...at, k], "variable name must be a letter or '_' then letters, digits or '_' (usable as vars.NAME in a template)");
    else if (v === null || v === undefined) p.add([...at, k], "has no value (null); give it one, or remove it");
    else out[k] = v;
  }
  return out;
}

function parseLabels(raw: unknown, at: Path, p: Problems): Record<string, string> {
  if (!isRecord(raw)) return p.add(at, `must be a mapping of label keys to values, got ${describe(raw)}`) ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!LABEL_KEY.test(k)) p.add([...at, k], "label key must be a letter or '_' then up to 62 letters, digits, '_', '.' or '-'");
    else if ((typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") || !LABEL_VALUE.test(String(v))) {
      p.add([...at, k], `label value must be up to 63 letters, digits, '_', '.', '/' or '-' (no ',', '=', '!' or spaces), got ${describe(v)}`);
    } else out[k] = String(v);
  }
  return out;
}

/** Canary entries name hosts by name or address; returns their addresses. */
export function resolveCanary(raw: unknown, hosts: InventoryHost[], at: Path, p: Problems): string[] {
  if (!Array.isArray(raw)) return p.add(at, "must be a list of host names or agent addresses of this group") ?? [];
  const out: string[] = [];
  raw.forEach((c, i) => {
    const host = typeof c === "string" ? hosts.find((h) => h.name === c || h.address === c) : undefined;
    if (!host) p.add([...at, i], `${typeof c === "string" ? c : describe(c)} is not one of this group's hosts`);
    else if (out.includes(host.address)) p.add([...at, i], `${c} is listed twice`);
    else out.push(host.address);
  });
  return out;
}

function describe(v: unknown): string {
  return v === undefined ? "nothing" : v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "a mapping" : `${typeof v} ${JSON.stringify(v)}`;
}

/** Two spellings of one agent (case, a trailing dot, localhost for 127.0.0.1, ...): see hostKey. */
function sameAgent(a: string, earlier: string): string {
  return earlier === a ? `${a} is listed twice` : `${a} is ${earlier} again (one agent: addresses are compared without case, trailing dot or leading port zeros, and localhost, 127.0.0.1 and [::1] are one host)`;
}

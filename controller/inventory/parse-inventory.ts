// Pure parse of fleet.yaml's data into an Inventory; every problem reported.
import type { ConfigProblem } from "../../common/errors.js";
import { validateDetailed } from "node-cron";
import { Problems, absolutePath, duration, noUnknownKeys, oneOf, record, string, type Path } from "../../common/field-checks.js";
import { applyPolicyText, DEFAULT_POLICY, type PolicyText } from "../rollout/rollout-policy.js";
import { INVENTORY_DEFAULTS, type AgentAccess, type GroupConfig, type Inventory, type ScheduleConfig } from "./inventory.js";

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ADDRESS = /^(unix:\/.+|[A-Za-z0-9.-]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5})$/;

export function parseInventory(data: unknown): { ok: true; value: Inventory } | { ok: false; problems: ConfigProblem[] } {
  const p = new Problems();
  const top = record(data ?? {}, [], p);
  if (!top) return { ok: false, problems: p.list };
  noUnknownKeys(top, ["controller", "agents", "tls", "groups", "schedules"], [], p);

  const controller: Inventory["controller"] = { listen: INVENTORY_DEFAULTS.listen, db: INVENTORY_DEFAULTS.db };
  if (top.controller !== undefined) {
    const c = record(top.controller, ["controller"], p);
    if (c) {
      noUnknownKeys(c, ["listen", "db", "socket_group"], ["controller"], p);
      if (c.socket_group !== undefined) controller.socketGroup = string(c.socket_group, ["controller", "socket_group"], p);
      if (c.listen !== undefined) {
        const l = string(c.listen, ["controller", "listen"], p);
        if (l && !ADDRESS.test(l)) p.add(["controller", "listen"], `must be unix:/PATH or HOST:PORT, got ${JSON.stringify(l)}`);
        else if (l) controller.listen = l;
      }
      if (c.db !== undefined) controller.db = absolutePath(c.db, ["controller", "db"], p) ?? controller.db;
    }
  }

  const agents = { access: { mode: "insecure" } as AgentAccess, deadlineMs: INVENTORY_DEFAULTS.deadlineMs as number, reloadDeadlineMs: INVENTORY_DEFAULTS.reloadDeadlineMs as number };
  if (top.tls !== undefined) {
    const t = record(top.tls, ["tls"], p);
    if (t) {
      noUnknownKeys(t, ["cert", "key", "ca"], ["tls"], p);
      const [cert, key, ca] = (["cert", "key", "ca"] as const).map((k) => absolutePath(t[k], ["tls", k], p));
      if (cert && key && ca) agents.access = { mode: "tls", cert, key, ca };
    }
  }
  if (top.agents !== undefined) {
    const a = record(top.agents, ["agents"], p);
    if (a) {
      noUnknownKeys(a, ["token_file", "deadline", "reload_deadline"], ["agents"], p);
      if (a.token_file !== undefined) {
        const tokenFile = absolutePath(a.token_file, ["agents", "token_file"], p);
        if (tokenFile && agents.access.mode === "tls") p.add(["agents", "token_file"], "conflicts with tls: choose mutual TLS or a token");
        else if (tokenFile) agents.access = { mode: "token", tokenFile };
      }
      if (a.deadline !== undefined) agents.deadlineMs = duration(a.deadline, ["agents", "deadline"], p, 600_000) ?? agents.deadlineMs;
      if (a.reload_deadline !== undefined) agents.reloadDeadlineMs = duration(a.reload_deadline, ["agents", "reload_deadline"], p, 3_600_000) ?? agents.reloadDeadlineMs;
    }
  }

  if (!controller.listen.startsWith("unix:") && agents.access.mode !== "tls" && !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):/.test(controller.listen)) {
    p.add(["controller", "listen"], "a TCP listen address off loopback needs tls: {cert, key, ca}: remote CLIs then present operator certificates");
  }
  const groups = new Map<string, GroupConfig>();
  const rawGroups = top.groups === undefined ? p.add(["groups"], "is required: declare at least one group of hosts") : record(top.groups, ["groups"], p);
  for (const [name, raw] of Object.entries(rawGroups ?? {})) {
    const g = parseGroup(name, raw, ["groups", name], p);
    if (g) groups.set(name, g);
  }
  const schedules: ScheduleConfig[] = [];
  if (top.schedules !== undefined) {
    if (!Array.isArray(top.schedules)) p.add(["schedules"], "must be a list of {name, cron, group, config: {source, path}}");
    else top.schedules.forEach((raw, i) => {
      const sc = parseSchedule(raw, ["schedules", i], p, rawGroups ?? {});
      if (sc && schedules.some((x) => x.name === sc.name)) p.add(["schedules", i, "name"], `${sc.name} is used by another schedule`);
      else if (sc) schedules.push(sc);
    });
  }
  if (p.list.length) return { ok: false, problems: p.list };
  return { ok: true, value: { controller, agents, groups, schedules } };
}

function parseGroup(name: string, raw: unknown, path: Path, p: Problems): GroupConfig | undefined {
  if (!GROUP_NAME.test(name)) p.add(path, "group name must be 1-64 letters, digits, '_', '.' or '-'");
  const g = record(raw, path, p);
  if (!g) return undefined;
  noUnknownKeys(g, ["service", "hosts", "canary", "policy"], path, p);
  const service = string(g.service, [...path, "service"], p);
  const hosts = addressList(g.hosts, [...path, "hosts"], p, true);
  const canary = g.canary === undefined ? [] : addressList(g.canary, [...path, "canary"], p, false);
  canary.forEach((c, i) => {
    if (!hosts.includes(c)) p.add([...path, "canary", i], `${c} is not one of this group's hosts`);
  });
  let policy = DEFAULT_POLICY;
  if (g.policy !== undefined) {
    const pol = record(g.policy, [...path, "policy"], p);
    if (pol) {
      noUnknownKeys(pol, ["canary", "batch", "max_failures", "bake", "pause", "accept_unverified"], [...path, "policy"], p);
      const text = Object.fromEntries(Object.entries(pol).map(([k, v]) => [k, String(v)])) as PolicyText;
      const r = applyPolicyText(DEFAULT_POLICY, text, () => "");
      // One field at a time, so each problem is attached to its own field path.
      for (const key of Object.keys(text) as (keyof PolicyText)[]) {
        for (const problem of applyPolicyText(DEFAULT_POLICY, { [key]: text[key] }, () => "").problems) p.add([...path, "policy", key], problem.replace(/^: /, ""));
      }
      policy = r.policy;
    }
  }
  if (!service || hosts.length === 0) return undefined;
  return { name, service, hosts, canary, policy };
}

function parseSchedule(raw: unknown, path: Path, p: Problems, rawGroups: Record<string, unknown>): ScheduleConfig | undefined {
  const s = record(raw, path, p);
  if (!s) return undefined;
  noUnknownKeys(s, ["name", "cron", "group", "config", "policy", "when_busy"], path, p);
  const name = string(s.name, [...path, "name"], p);
  if (name && !GROUP_NAME.test(name)) p.add([...path, "name"], "must be 1-64 letters, digits, '_', '.' or '-'");
  const cron = string(s.cron, [...path, "cron"], p);
  if (cron) {
    const v = validateDetailed(cron);
    if (!v.valid) p.add([...path, "cron"], `is not a cron expression (${v.errors.map((e) => `${e.field}: ${e.message}`).join("; ")}); use 5 fields (minute hour day month weekday) or 6 with seconds first`);
  }
  const group = string(s.group, [...path, "group"], p);
  if (group && !(group in rawGroups)) p.add([...path, "group"], `no group ${group}; groups: ${Object.keys(rawGroups).join(", ")}`);
  const c = record(s.config, [...path, "config"], p);
  let source: string | undefined;
  let target: string | undefined;
  if (c) {
    noUnknownKeys(c, ["source", "path"], [...path, "config"], p);
    source = absolutePath(c.source, [...path, "config", "source"], p);
    target = absolutePath(c.path, [...path, "config", "path"], p);
  }
  const policy: PolicyText = {};
  if (s.policy !== undefined) {
    const pol = record(s.policy, [...path, "policy"], p);
    if (pol) {
      noUnknownKeys(pol, ["canary", "batch", "max_failures", "bake", "pause", "accept_unverified"], [...path, "policy"], p);
      for (const [k, v] of Object.entries(pol)) {
        const key = k as keyof PolicyText;
        policy[key] = String(v);
        for (const problem of applyPolicyText(DEFAULT_POLICY, { [key]: String(v) }, () => "").problems) p.add([...path, "policy", key], problem.replace(/^: /, ""));
      }
    }
  }
  const whenBusy = s.when_busy === undefined ? "skip" : oneOf(s.when_busy, ["skip", "wait"] as const, [...path, "when_busy"], p);
  if (!name || !cron || !group || !source || !target || !whenBusy) return undefined;
  return { name, cron, group, source, path: target, policy, whenBusy };
}

function addressList(v: unknown, path: Path, p: Problems, required: boolean): string[] {
  if (!Array.isArray(v) || (required && v.length === 0)) {
    p.add(path, `must be a ${required ? "non-empty " : ""}list of agent addresses (HOST:PORT or unix:/PATH)`);
    return [];
  }
  const out: string[] = [];
  v.forEach((a, i) => {
    if (typeof a !== "string" || !ADDRESS.test(a)) p.add([...path, i], `must be HOST:PORT or unix:/PATH, got ${JSON.stringify(a)}`);
    else if (out.includes(a)) p.add([...path, i], `${a} is listed twice`);
    else out.push(a);
  });
  return out;
}

// Pure parse of fleet.yaml's data into an Inventory; every problem reported.
import type { ConfigProblem } from "../../common/errors.js";
import { validateDetailed } from "node-cron";
import { Problems, absolutePath, bool, isRecord, duration, noUnknownKeys, oneOf, record, string, type Path } from "../../common/field-checks.js";
import { parseMetricsConfig, parseWebConfig } from "../observability/observability-config.js";
import { parseReplicateConfig } from "../replication/replicate-config.js";
import { parseWebhooks } from "../webhooks/webhook-config.js";
import { applyPolicyText, DEFAULT_POLICY, POLICY_KEYS, type PolicyText } from "../rollout/rollout-policy.js";
import { tlsPaths } from "./parse-tls-paths.js";
import { ADDRESS, parseHosts, parseVars, resolveCanary } from "./parse-hosts.js";
import { INVENTORY_DEFAULTS, type AgentAccess, type GroupConfig, type ParsedInventory, type ScheduleConfig, type ScheduleFile } from "./inventory.js";

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function parseInventory(data: unknown): { ok: true; value: ParsedInventory } | { ok: false; problems: ConfigProblem[] } {
  const p = new Problems();
  const top = record(data ?? {}, [], p);
  if (!top) return { ok: false, problems: p.list };
  noUnknownKeys(top, ["controller", "agents", "tls", "groups", "schedules", "metrics", "web", "webhooks", "replicate"], [], p);

  const controller = parseController(top.controller, p);
  const agents = { access: { mode: "insecure" } as AgentAccess, deadlineMs: INVENTORY_DEFAULTS.deadlineMs as number, reloadDeadlineMs: INVENTORY_DEFAULTS.reloadDeadlineMs as number };
  if (top.tls !== undefined) {
    const tls = tlsPaths(top.tls, ["tls"], p);
    if (tls) agents.access = { mode: "tls", ...tls };
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

  if (!controller.listen.startsWith("unix:")) {
    // Loopback included: any local user can reach a TCP port, so every TCP caller presents an operator certificate.
    if (!controller.tls && agents.access.mode === "tls") controller.tls = { cert: agents.access.cert, key: agents.access.key, ca: agents.access.ca };
    if (!controller.tls) p.add(["controller", "listen"], "a TCP address (loopback included) needs TLS: set controller.tls: {cert, key, ca} (or the top-level tls); CLIs then present operator certificates");
  }
  const groups = new Map<string, GroupConfig>();
  const rawGroups = top.groups === undefined ? p.add(["groups"], "is required: declare at least one group of hosts") : record(top.groups, ["groups"], p);
  for (const [name, raw] of Object.entries(rawGroups ?? {})) {
    const g = parseGroup(name, raw, ["groups", name], p);
    if (g) groups.set(name, g);
  }
  const schedules: ScheduleConfig[] = [];
  if (top.schedules !== undefined) {
    if (!Array.isArray(top.schedules)) p.add(["schedules"], "must be a list of {name, cron, group, config: {source, path} or [{source, path, template}]}");
    else top.schedules.forEach((raw, i) => {
      const sc = parseSchedule(raw, ["schedules", i], p, rawGroups ?? {});
      if (sc && schedules.some((x) => x.name === sc.name)) p.add(["schedules", i, "name"], `${sc.name} is used by another schedule`);
      else if (sc) schedules.push(sc);
    });
  }
  const controllerTls = controller.tls ?? (agents.access.mode === "tls" ? { cert: agents.access.cert, key: agents.access.key, ca: agents.access.ca } : undefined);
  const metrics = top.metrics === undefined ? undefined : parseMetricsConfig(top.metrics, p, controllerTls);
  const web = top.web === undefined ? undefined : parseWebConfig(top.web, p, controllerTls);
  const operatorsGiven = isRecord(top.controller) && top.controller.operators !== undefined;
  const tlsAsked = (section: "metrics" | "web") => isRecord(top[section]) && top[section].tls !== undefined && top[section].tls !== false;
  checkOperators(controller, operatorsGiven, (["metrics", "web"] as const).filter(tlsAsked).map((s) => `${s}.tls`), p);
  const webhooks = top.webhooks === undefined ? [] : parseWebhooks(top.webhooks, Object.keys(rawGroups ?? {}), p);
  const replicate = top.replicate === undefined ? undefined : parseReplicateConfig(top.replicate, controller.db, p);
  if (p.list.length) return { ok: false, problems: p.list };
  return { ok: true, value: { controller, agents, groups, schedules, webhooks, ...(metrics ? { metrics } : {}), ...(web ? { web } : {}), ...(replicate ? { replicate } : {}) } };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;
const GROUP = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

function parseController(raw: unknown, p: Problems): ParsedInventory["controller"] {
  const controller: ParsedInventory["controller"] = { listen: INVENTORY_DEFAULTS.listen, db: INVENTORY_DEFAULTS.db, operators: { read: [], operate: [] } };
  if (raw === undefined) return controller;
  const c = record(raw, ["controller"], p);
  if (!c) return controller;
  noUnknownKeys(c, ["listen", "db", "socket_group", "read_socket", "read_group", "tls", "operators"], ["controller"], p);
  if (c.listen !== undefined) {
    const l = string(c.listen, ["controller", "listen"], p);
    if (l && !ADDRESS.test(l)) p.add(["controller", "listen"], `must be unix:/PATH or HOST:PORT, got ${JSON.stringify(l)}`);
    else if (l) controller.listen = l;
  }
  if (c.db !== undefined) controller.db = absolutePath(c.db, ["controller", "db"], p) ?? controller.db;
  const unixOnly = (key: string) => !controller.listen.startsWith("unix:") && p.add(["controller", key], "only applies to a unix:/PATH listen");
  for (const [key, field] of [["socket_group", "socketGroup"], ["read_group", "readGroup"]] as const) {
    if (c[key] === undefined) continue;
    const g = string(c[key], ["controller", key], p);
    if (g && !GROUP.test(g)) p.add(["controller", key], `must be a unix group name, got ${JSON.stringify(g)}`);
    else if (g) controller[field] = g;
  }
  if (c.socket_group !== undefined) unixOnly("socket_group");
  if (c.read_socket !== undefined) {
    const r = string(c.read_socket, ["controller", "read_socket"], p);
    if (r && !/^unix:\/./.test(r)) p.add(["controller", "read_socket"], `must be unix:/PATH, got ${JSON.stringify(r)}`);
    else if (r === controller.listen) p.add(["controller", "read_socket"], "must differ from controller.listen");
    else if (r) controller.readSocket = r;
    if (!controller.readGroup) p.add(["controller", "read_group"], "is required with read_socket: the group whose members may read (status, history, show, schedules)");
  } else if (controller.readGroup) p.add(["controller", "read_group"], "only applies with controller.read_socket");
  if (c.tls !== undefined) controller.tls = tlsPaths(c.tls, ["controller", "tls"], p);
  if (c.operators !== undefined) {
    const o = record(c.operators, ["controller", "operators"], p);
    if (o) {
      noUnknownKeys(o, ["read", "operate"], ["controller", "operators"], p);
      for (const role of ["read", "operate"] as const) {
        const list = o[role] ?? [];
        if (!Array.isArray(list)) p.add(["controller", "operators", role], "must be a list of certificate names (the CN of fleet certs issue --operator NAME)");
        else list.forEach((n, i) => (typeof n === "string" && NAME.test(n) ? controller.operators[role].push(n) : p.add(["controller", "operators", role, i], `must be a certificate name, got ${JSON.stringify(n)}`)));
      }
    }
  }
  return controller;
}

/**
 * controller.operators names the client certificates of every TLS listener: a TCP
 * controller.listen, and metrics.tls / web.tls (which admit the read role).
 */
function checkOperators(controller: ParsedInventory["controller"], given: boolean, httpTls: string[], p: Problems): void {
  const tcp = !controller.listen.startsWith("unix:");
  const named = controller.operators.read.length + controller.operators.operate.length > 0;
  if (tcp && !named) p.add(["controller", "operators"], "a TCP listen needs operator certificate names: operators: { read: [NAME], operate: [NAME] }");
  else if (httpTls.length && !named) p.add(["controller", "operators"], `${httpTls.join(" and ")} admit client certificates whose names have the read role: operators: { read: [NAME] } (operate includes read)`);
  if (!tcp && !httpTls.length && given) p.add(["controller", "operators"], "only applies to a TCP listen or to metrics.tls / web.tls (on a unix socket, roles come from socket_group and read_socket)");
}

function parseGroup(name: string, raw: unknown, path: Path, p: Problems): GroupConfig | undefined {
  if (!GROUP_NAME.test(name)) p.add(path, "group name must be 1-64 letters, digits, '_', '.' or '-'");
  const g = record(raw, path, p);
  if (!g) return undefined;
  noUnknownKeys(g, ["service", "hosts", "vars", "canary", "policy"], path, p);
  const service = string(g.service, [...path, "service"], p);
  const members = parseHosts(g.hosts, [...path, "hosts"], p);
  const vars = g.vars === undefined ? {} : parseVars(g.vars, [...path, "vars"], p);
  const canary = g.canary === undefined ? [] : resolveCanary(g.canary, members, [...path, "canary"], p);
  let policy = DEFAULT_POLICY;
  if (g.policy !== undefined) {
    const pol = record(g.policy, [...path, "policy"], p);
    if (pol) {
      noUnknownKeys(pol, POLICY_KEYS, [...path, "policy"], p);
      const text = Object.fromEntries(Object.entries(pol).map(([k, v]) => [k, String(v)])) as PolicyText;
      const r = applyPolicyText(DEFAULT_POLICY, text, () => "");
      // One field at a time, so each problem is attached to its own field path.
      for (const key of Object.keys(text) as (keyof PolicyText)[]) {
        for (const problem of applyPolicyText(DEFAULT_POLICY, { [key]: text[key] }, () => "").problems) p.add([...path, "policy", key], problem.replace(/^: /, ""));
      }
      policy = r.policy;
    }
  }
  if (!service || members.length === 0) return undefined;
  return { name, service, hosts: members.map((h) => h.address), members, vars, canary, policy };
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
  const files = scheduleFiles(s.config, [...path, "config"], p);
  const policy: PolicyText = {};
  if (s.policy !== undefined) {
    const pol = record(s.policy, [...path, "policy"], p);
    if (pol) {
      noUnknownKeys(pol, POLICY_KEYS, [...path, "policy"], p);
      for (const [k, v] of Object.entries(pol)) {
        const key = k as keyof PolicyText;
        policy[key] = String(v);
        for (const problem of applyPolicyText(DEFAULT_POLICY, { [key]: String(v) }, () => "").problems) p.add([...path, "policy", key], problem.replace(/^: /, ""));
      }
    }
  }
  const whenBusy = s.when_busy === undefined ? "skip" : oneOf(s.when_busy, ["skip", "wait"] as const, [...path, "when_busy"], p);
  if (!name || !cron || !group || !files || !whenBusy) return undefined;
  return { name, cron, group, files, policy, whenBusy };
}

/** `config: {source, path}` (one file) or a list of `{source, path, template}`: the set each run pushes. */
function scheduleFiles(raw: unknown, path: Path, p: Problems): ScheduleFile[] | undefined {
  const entries = Array.isArray(raw) ? raw : [raw];
  if (entries.length === 0) return p.add(path, "must be {source, path} or a non-empty list of {source, path, template}");
  const files: ScheduleFile[] = [];
  entries.forEach((e, i) => {
    const at = Array.isArray(raw) ? [...path, i] : path;
    const c = record(e, at, p);
    if (!c) return;
    noUnknownKeys(c, ["source", "path", "template"], at, p);
    const source = absolutePath(c.source, [...at, "source"], p);
    const target = absolutePath(c.path, [...at, "path"], p);
    const template = c.template === undefined ? false : bool(c.template, [...at, "template"], p);
    if (target && files.some((f) => f.path === target)) p.add([...at, "path"], `${target} is already in this set`);
    else if (source && target && template !== undefined) files.push({ source, path: target, template });
  });
  return files.length === entries.length ? files : undefined;
}

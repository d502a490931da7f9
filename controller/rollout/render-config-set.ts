// The files a config rollout pushes, per host: plain files as given, templates
// rendered with Liquid (liquidjs) from the host's name, variables and labels.
// Strict: an undefined variable or filter is an error, every one of them on
// every host is reported, and nothing is pushed anywhere unless all render.
// No includes (there is no file system to include from), bounded time and size.
// Pure: no agent, no database.
import { Liquid, type Template } from "liquidjs";
import type { InventoryHost } from "../inventory/inventory.js";

export interface SetFile {
  /** Destination path on every host. */
  path: string;
  content: Buffer;
  /** Render per host as a Liquid template. */
  template: boolean;
}

export interface RenderedFile {
  path: string;
  content: Buffer;
}

export interface TemplateGroup {
  name: string;
  service: string;
  vars: Record<string, unknown>;
}

/** A rendered file larger than this is refused (the agents' message limit is of this order). */
export const MAX_RENDERED_BYTES = 4 * 1024 * 1024;
/** For all hosts of one plan together (a plan renders on the controller's thread). */
const RENDER_BUDGET_MS = 2000;

const liquid = new Liquid({
  strictVariables: true,
  strictFilters: true,
  catchAllErrors: true,
  ownPropertyOnly: true,
  // An empty in-memory template store: include, render and layout find nothing.
  templates: {},
  // Per host, checked between template nodes; the plan-wide budget above bounds the sum.
  renderLimit: RENDER_BUDGET_MS / 2,
  parseLimit: MAX_RENDERED_BYTES,
  // liquidjs counts elements (array items, string length) against this, not bytes.
  memoryLimit: 8 * 1024 * 1024,
});

/** The variables a template sees on one host (documented in the README). */
export function templateScope(host: InventoryHost, group: TemplateGroup): Record<string, unknown> {
  return {
    host: { name: host.name, address: host.address },
    group: { name: group.name, service: group.service },
    vars: { ...group.vars, ...host.vars },
    labels: { ...host.labels },
  };
}

export type RenderResult = { ok: true; perHost: Map<string, RenderedFile[]> } | { ok: false; problems: string[] };

/** Every host's files (keyed by agent address), or every problem on every host. */
export function renderConfigSet(files: SetFile[], hosts: InventoryHost[], group: TemplateGroup): RenderResult {
  const problems: string[] = [];
  const parsed = new Map<string, Template[]>();
  for (const f of files.filter((x) => x.template)) {
    const t = parseTemplate(f, problems);
    if (t) parsed.set(f.path, t);
  }
  if (problems.length) return { ok: false, problems };
  const perHost = new Map<string, RenderedFile[]>();
  // Rendering runs on the controller's thread: the budget is for ALL hosts together, not per host.
  const deadline = performance.now() + RENDER_BUDGET_MS;
  for (const host of hosts) {
    if (performance.now() > deadline) {
      problems.push(`rendering the templates took more than ${RENDER_BUDGET_MS} ms before host ${host.name} (for all hosts together); make the templates cheaper (no large loops or repeated string growth)`);
      break;
    }
    const scope = templateScope(host, group);
    const rendered = files.map((f) => (f.template ? renderOne(f.path, parsed.get(f.path)!, host, scope, problems) : { path: f.path, content: f.content }));
    if (rendered.every((r): r is RenderedFile => r !== undefined)) perHost.set(host.address, rendered);
  }
  return problems.length ? { ok: false, problems } : { ok: true, perHost };
}

function parseTemplate(f: SetFile, problems: string[]): Template[] | undefined {
  const text = f.content.toString("utf8");
  if (!Buffer.from(text, "utf8").equals(f.content)) {
    problems.push(`template ${f.path}: is not UTF-8 text`);
    return undefined;
  }
  try {
    return liquid.parse(text);
  } catch (err) {
    problems.push(...liquidMessages(err).map((m) => `template ${f.path}: ${m}`));
    return undefined;
  }
}

function renderOne(path: string, template: Template[], host: InventoryHost, scope: Record<string, unknown>, problems: string[]): RenderedFile | undefined {
  const where = `host ${host.name}${host.name === host.address ? "" : ` (${host.address})`}, template ${path}`;
  try {
    const content = Buffer.from(liquid.renderSync(template, scope) as string, "utf8");
    if (content.length > MAX_RENDERED_BYTES) {
      problems.push(`${where}: renders to ${content.length} bytes, more than the ${MAX_RENDERED_BYTES} allowed`);
      return undefined;
    }
    return { path, content };
  } catch (err) {
    problems.push(...liquidMessages(err).map((m) => `${where}: ${m}`));
    return undefined;
  }
}

/** liquidjs gathers every error of a render (catchAllErrors); each becomes one line. */
function liquidMessages(err: unknown): string[] {
  const list = (err as { errors?: Error[] }).errors ?? [err as Error];
  return list.map((e) => {
    const m = e instanceof Error ? e.message : String(e);
    return /Failed to lookup/.test(m) ? `${m} (include, render and layout are not available: a template is one self-contained file)` : m;
  });
}

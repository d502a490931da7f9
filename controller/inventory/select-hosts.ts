// Which of a group's hosts a rollout takes: --hosts (names, addresses or
// globs of either) and --select (labels: `zone=a,role!=edge`, every term must
// hold). Pure; says for every host left out why.
import type { InventoryHost } from "./inventory.js";
import { globMatch } from "../glob-match.js";

export interface LabelTerm {
  key: string;
  op: "=" | "!=";
  value: string;
}

export interface HostSelection {
  selected: InventoryHost[];
  excluded: { host: InventoryHost; why: string }[];
}

const TERM = /^([A-Za-z_][A-Za-z0-9_.-]{0,62})\s*(!=|=)\s*([A-Za-z0-9_.\/-]{0,63})$/;

/** `zone=a,role!=edge` -> terms; a problem names the term at fault. */
export function parseSelector(text: string): { ok: true; terms: LabelTerm[] } | { ok: false; problem: string } {
  const terms: LabelTerm[] = [];
  if (!text) return { ok: true, terms }; // no --select at all (the CLI refuses an explicitly empty one)
  for (const raw of text.split(",")) {
    const part = raw.trim();
    // An empty term would select everything: a script's unset "$SELECTOR" must not mean "all hosts".
    if (!part) return { ok: false, problem: `--select: an empty term in ${JSON.stringify(text)}; give KEY=VALUE or KEY!=VALUE terms separated by commas` };
    const m = TERM.exec(part);
    if (!m) return { ok: false, problem: `--select: ${JSON.stringify(part)} is not KEY=VALUE or KEY!=VALUE (terms separated by commas, all must hold)` };
    terms.push({ key: m[1]!, op: m[2] as LabelTerm["op"], value: m[3]! });
  }
  return { ok: true, terms };
}

/** Why `host` fails a term, or "" when it holds. A host without the label matches no term about it. */
function failedTerm(host: InventoryHost, t: LabelTerm): string {
  const have = host.labels[t.key];
  if (have === undefined) return `has no label ${t.key} (${t.key}${t.op}${t.value} needs it)`;
  if (t.op === "=" && have !== t.value) return `label ${t.key} is ${have}, not ${t.value}`;
  if (t.op === "!=" && have === t.value) return `label ${t.key} is ${have} (${t.key}!=${t.value})`;
  return "";
}

export function selectHosts(members: InventoryHost[], patterns: string[], terms: LabelTerm[]): HostSelection {
  const selection: HostSelection = { selected: [], excluded: [] };
  for (const host of members) {
    const byName = patterns.length === 0 || patterns.some((p) => globMatch(p, host.name) || globMatch(p, host.address));
    const why = !byName ? `not matched by --hosts ${patterns.join(",")}` : terms.map((t) => failedTerm(host, t)).find(Boolean);
    if (why) selection.excluded.push({ host, why });
    else selection.selected.push(host);
  }
  return selection;
}

export { globMatch };

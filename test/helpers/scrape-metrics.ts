// Scrapes a /metrics endpoint and parses it with a real exposition-format
// parser: the official Prometheus Python client's (Debian's
// python3-prometheus-client), which also rejects malformed text.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const PYTHON = "/usr/bin/python3";
const PARSE = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
`;

/** Why the parser cannot run here, or undefined when it can. */
export function metricsParserMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not installed`;
  try {
    execFileSync(PYTHON, ["-c", "import prometheus_client.parser"], { stdio: "ignore", timeout: 30_000 });
    return undefined;
  } catch {
    return "python3-prometheus-client not installed (test/install-system-deps.sh installs it)";
  }
}

export interface Family {
  name: string;
  type: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

export interface Scrape {
  families: Family[];
  family(name: string): Family;
  /** The value of the sample named `name` whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** A histogram's count, sum and cumulative buckets (le -> count) for the labels given. */
  histogram(name: string, labels?: Record<string, string>): { count: number; sum: number; buckets: Map<string, number> };
}

const matches = (have: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => have[k] === v);

export function parseMetricsText(text: string): Scrape {
  const families = JSON.parse(execFileSync(PYTHON, ["-c", PARSE], { input: text, encoding: "utf8", timeout: 30_000 })) as Family[];
  const family = (name: string) => {
    const f = families.find((x) => x.name === name);
    if (!f) throw new Error(`no metric family ${name}; have ${families.map((x) => x.name).join(", ")}`);
    return f;
  };
  const samples = (name: string, labels: Record<string, string>) => families.flatMap((f) => f.samples).filter((s) => s.name === name && matches(s.labels, labels));
  return {
    families,
    family,
    value: (name, labels = {}) => samples(name, labels)[0]?.value,
    histogram(name, labels = {}) {
      const buckets = new Map(samples(`${name}_bucket`, labels).map((s) => [s.labels.le!, s.value]));
      return { count: samples(`${name}_count`, labels)[0]?.value ?? 0, sum: samples(`${name}_sum`, labels)[0]?.value ?? 0, buckets };
    },
  };
}

export async function scrapeMetrics(address: string): Promise<Scrape> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return parseMetricsText(await res.text());
}

// --json output: fields the controller carries as JSON text (a rollout's policy, a step's
// evidence) are printed as nested objects, never as JSON strings inside JSON.
// A step has both: `evidence` (how strong, in words) and the agent's evidence itself, nested as `agentEvidence`.
const NESTED: Record<string, string> = { policy: "policy", evidenceJson: "agentEvidence" };

export function toJsonValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (!value || typeof value !== "object" || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const renamed = NESTED[k];
    if (renamed && typeof v === "string") out[renamed] = parseOrText(v);
    else out[k] = toJsonValue(v);
  }
  return out;
}

function parseOrText(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function printJson(value: unknown, pretty = false): void {
  console.log(JSON.stringify(toJsonValue(value), null, pretty ? 2 : undefined));
}

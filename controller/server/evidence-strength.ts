// One phrase for how strong a step's evidence is, from the agent's evidence
// as the history stores it (a reload's, or a config change's with its reload).

interface StoredEvidence {
  signalled?: boolean;
  generation?: { source?: string; observed?: boolean };
  reload?: StoredEvidence;
}

export function evidenceStrength(json: string): string {
  if (!json) return "";
  let e: StoredEvidence;
  try {
    e = JSON.parse(json) as StoredEvidence;
  } catch {
    return "";
  }
  const reload = e.reload ?? (e.generation ? e : undefined);
  if (!reload) return "";
  if (!reload.signalled) return "not sent";
  const source = reload.generation?.source || "none";
  if (source === "none") return "none (unverified)";
  return `${source} ${reload.generation?.observed ? "observed" : "not observed"}`;
}

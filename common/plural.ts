// "1 host", "3 hosts": counts in messages of the CLI, the controller and the agent.
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A rollout's state in a sentence: "rollout 4 has succeeded", "rollout 4 was interrupted". */
export function stateSentence(state: string): string {
  switch (state) {
    case "running":
      return "is running";
    case "waiting_for_approval":
      return "is waiting for approval";
    case "succeeded":
    case "failed":
      return `has ${state}`;
    default:
      return `was ${state}`;
  }
}

// "1 host", "3 hosts": counts in messages of the CLI, the controller and the agent.
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

// `fleet demo`: the main job on a local default (loaded only when asked for).
import { Command } from "commander";
import { action } from "../command-action.js";
import type { ExitCode } from "../exit-codes.js";

export function demoCommand(): Command {
  return new Command("demo").description("a local controller and five agents: a healthy reload, a halted one, the history (no root needed)").action(
    action(async () => {
      const { runDemo } = await import("../demo/run-demo.js");
      return (await runDemo()) as ExitCode;
    }),
  );
}

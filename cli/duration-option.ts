// A commander option that takes a duration in the one grammar of common/duration.ts; its value
// is the duration in milliseconds.
import { Option } from "commander";
import { parseDuration } from "../common/duration.js";
import { UsageError } from "./exit-codes.js";

export function durationOption(flag: string, what: string): Option {
  return new Option(flag, what).argParser((v: string) => {
    const d = parseDuration(v);
    if (!d.ok) throw new UsageError(`${flag.split(" ")[0]}: ${d.problem}`);
    return d.ms;
  });
}

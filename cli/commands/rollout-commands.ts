// Commands that talk to the controller: reload, resume, abort, status, history, show.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { Command, Option } from "commander";
import { parseDuration, formatDuration } from "../../common/duration.js";
import type { GroupStatusResponse, HistoryResponse, ListSchedulesResponse, RolloutEvent, RolloutSummary, ScheduleActionResponse, ShowResponse, AbortResponse } from "../../proto/gen/fleet/controller/v1/controller.js";
import { caller, ControllerClient, resolveControllerAddress } from "../controller-client.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { createRolloutDisplay } from "../output/rollout-display.js";

interface GlobalFlags {
  controller?: string;
  json?: boolean;
}

const FOLLOW_MS = 24 * 3_600_000;

function connect(flags: GlobalFlags): ControllerClient {
  return new ControllerClient(resolveControllerAddress(flags.controller));
}

/** Runs `work` with a controller client built from the command's and the global flags; always closes it. */
async function withController<F extends GlobalFlags>(own: F, cmd: Command, work: (client: ControllerClient, flags: F) => Promise<void>): Promise<void> {
  const flags = { ...cmd.optsWithGlobals(), ...own } as F;
  const client = connect(flags);
  try {
    await work(client, flags);
  } finally {
    client.close();
  }
}

function positiveId(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`ID must be a rollout number, got ${JSON.stringify(text)}`);
  return n;
}

/** Follows a stream of events to the end; returns the exit code. */
async function follow(events: AsyncGenerator<RolloutEvent>, flags: GlobalFlags, abort: AbortController): Promise<number> {
  const display = createRolloutDisplay(flags.json ? "json" : process.stdout.isTTY ? "tty" : "lines");
  let id = 0;
  let final: RolloutEvent | undefined;
  const onInt = () => {
    abort.abort();
    process.stderr.write(`\nfleet: stopped following${id ? `; rollout ${id} continues on the controller (fleet abort ${id} stops it, fleet show ${id} shows it)` : ""}\n`);
  };
  process.once("SIGINT", onInt);
  try {
    for await (const e of events) {
      if (e.rolloutId) id = Number(e.rolloutId);
      display.event(e);
      if (e.kind === "finished") final = e;
    }
  } finally {
    process.removeListener("SIGINT", onInt);
    display.end();
  }
  if (abort.signal.aborted) return EXIT.failed;
  if (!final) return EXIT.ok; // dry run: the plan only
  return final.outcome === "succeeded" ? EXIT.ok : EXIT.failed;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

const policyOption = (flag: string, what: string, check: (v: string) => boolean, allowed: string) =>
  new Option(flag, what).argParser((v: string) => {
    if (!check(v)) throw new UsageError(`${flag.split(" ")[0]} ${allowed}, got ${JSON.stringify(v)}`);
    return v;
  });
const isCount = (v: string) => /^\d+%?$/.test(v) && !(v.endsWith("%") && Number(v.slice(0, -1)) > 100);
const isDuration = (v: string) => parseDuration(v) !== undefined;

export function rolloutCommands(setExit: (code: number) => void): Command[] {
  type RolloutFlags = GlobalFlags & { canary?: string; batch?: string; maxFailures?: string; bake?: string; pause?: string; hosts?: string; reason: string; allowRestart?: boolean; acceptUnverified?: boolean; dryRun?: boolean; yes?: boolean; file?: string; path?: string; rollbackAll?: boolean };
  const withPolicy = (cmd: Command) =>
    cmd
      .addOption(policyOption("--canary <n>", "canary hosts first: N or N% (0 = no canary phase)", isCount, "must be N or N%"))
      .addOption(policyOption("--batch <n>", "batch size: N, N% or a list like 1,5,20% (last repeats)", (v) => v.split(",").every((x) => isCount(x) && !/^0+%?$/.test(x)), "must be N, N% or a list like 1,5,20% (each at least 1)"))
      .addOption(policyOption("--max-failures <n>", "halt when failures exceed N or N% (default 0)", isCount, "must be N or N%"))
      .addOption(policyOption("--bake <duration>", "keep probing canaries this long before the rest", isDuration, "must be a duration like 30s"))
      .addOption(policyOption("--pause <duration>", "pause between batches", isDuration, "must be a duration like 10s"))
      .option("--hosts <list>", "only these hosts (comma-separated addresses, * globs)")
      .option("--reason <text>", "why, recorded in the history", "")
      .option("--allow-restart", "accept a restart (new main process) as success where the service allows it")
      .option("--accept-unverified", "count unverified reloads (sent, but no generation evidence) as success; history still marks them unverified")
      .option("--dry-run", "print the plan and change nothing")
      .option("-y, --yes", "do not ask for confirmation on a terminal");

  /** Shared by reload and rollout: plan, confirm on a terminal, follow. */
  const runRollout = (rpc: "reload" | "rollout", group: string, o: RolloutFlags, cmd: Command, extra: object) =>
    withController(o, cmd, async (client, flags) => {
      const request = {
        group,
        policy: { canary: o.canary ?? "", batch: o.batch ?? "", maxFailures: o.maxFailures ?? "", bake: o.bake ?? "", pause: o.pause ?? "", acceptUnverified: o.acceptUnverified ?? false },
        hosts: o.hosts ? o.hosts.split(",").map((h) => h.trim()).filter(Boolean) : [],
        dryRun: false,
        reason: o.reason,
        caller: caller(),
        allowRestart: o.allowRestart ?? false,
        ...extra,
      };
      const interactive = process.stdout.isTTY && process.stdin.isTTY && !flags.json;
      if (o.dryRun || (interactive && !o.yes)) {
        const code = await follow(client.stream(rpc, { ...request, dryRun: true }, 30_000), flags, new AbortController());
        if (o.dryRun) return setExit(code);
        if (!(await confirm("Proceed with this rollout? [y/N] "))) {
          process.stderr.write("fleet: nothing changed\n");
          return setExit(EXIT.failed);
        }
      }
      const abort = new AbortController();
      setExit(await follow(client.stream(rpc, request, FOLLOW_MS, abort.signal), flags, abort));
    });

  const reload = withPolicy(new Command("reload").argument("<group>", "inventory group"))
    .description("rolling reload of a group's service: canaries first, then batches, gated on evidence")
    .addHelpText("after", "\nExamples:\n  fleet reload web-tier --canary 1\n  fleet reload web-tier --canary 10% --batch 1,5,20% --max-failures 1 --bake 30s --reason 'TLS cert rotation'\n  fleet reload web-tier --hosts 'web1*' --dry-run")
    .action((group: string, o: RolloutFlags, cmd: Command) => runRollout("reload", group, o, cmd, {}));

  const rollout = withPolicy(new Command("rollout").argument("<group>", "inventory group"))
    .description("push a config file to a group in rollout order: validate before swap, reload, verify, restore on failure")
    .requiredOption("--file <local>", "the new config file")
    .requiredOption("--path <remote>", "where it goes on every host (a path the service declares)")
    .option("--rollback-all", "when the rollout halts, also restore the hosts already done")
    .addHelpText("after", "\nExamples:\n  fleet rollout web-tier --file nginx.conf --path /etc/nginx/nginx.conf --canary 1 --bake 30s\n  fleet rollout web-tier --file nginx.conf --path /etc/nginx/nginx.conf --rollback-all --dry-run")
    .action((group: string, o: RolloutFlags, cmd: Command) => {
      let content: Buffer;
      try {
        content = readFileSync(o.file!);
      } catch (err) {
        throw new UsageError(`cannot read --file ${o.file}: ${(err as Error).message}`);
      }
      return runRollout("rollout", group, o, cmd, { path: o.path, content, rollbackAll: o.rollbackAll ?? false });
    });

  const resume = new Command("resume")
    .argument("<id>", "rollout id")
    .description("continue an interrupted or aborted rollout with the hosts not done (no host is reloaded twice)")
    .action(async (idText: string, o: GlobalFlags, cmd: Command) => {
      await withController(o, cmd, async (client, flags) => {
        const abort = new AbortController();
        setExit(await follow(client.stream("resume", { rolloutId: positiveId(idText), caller: caller() }, FOLLOW_MS, abort.signal), flags, abort));
      });
    });

  const abortCmd = new Command("abort")
    .argument("<id>", "rollout id")
    .description("stop a rollout after the hosts in flight finish")
    .action(async (idText: string, o: GlobalFlags, cmd: Command) => {
      await withController(o, cmd, async (client, flags) => {
        const r = await client.unary<object, AbortResponse>("abort", { rolloutId: positiveId(idText), caller: caller() });
        console.log(flags.json ? JSON.stringify(r) : r.message);
      });
    });

  const status = new Command("status")
    .argument("[group]", "one group (default: all)")
    .description("per host: agent reachable, service running and healthy, main PID, config hashes, what a reload can prove")
    .action(async (group: string | undefined, o: GlobalFlags, cmd: Command) => {
      await withController(o, cmd, async (client, flags) => {
        const r = await client.unary<object, GroupStatusResponse>("groupStatus", { group: group ?? "" }, 30_000);
        if (flags.json) r.hosts.forEach((h) => console.log(JSON.stringify(h)));
        else
          for (const h of r.hosts) {
            const state = !h.reachable ? "UNREACHABLE" : `${h.running ? "running" : "NOT RUNNING"}, ${h.healthy ? "healthy" : "UNHEALTHY"}`;
            console.log(`${h.group.padEnd(12)} ${h.address.padEnd(24)} ${h.service}: ${state}${h.mainPid ? ` pid ${h.mainPid}` : ""}${h.configHashes.length ? ` ${h.configHashes.join(" ")}` : ""}${h.evidence ? ` evidence: ${h.evidence}` : ""}${h.error ? ` (${h.error})` : ""}`);
          }
        if (r.hosts.some((h) => !h.reachable || !h.running || !h.healthy)) setExit(EXIT.failed);
      });
    });

  const history = new Command("history")
    .description("recent rollouts, newest first")
    .option("--group <group>", "only this group")
    .option("--limit <n>", "how many (1-1000)", "20")
    .action(async (o: GlobalFlags & { group?: string; limit: string }, cmd: Command) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit must be 1-1000, got ${JSON.stringify(o.limit)}`);
      await withController(o, cmd, async (client, flags) => {
        const r = await client.unary<object, HistoryResponse>("history", { group: o.group ?? "", limit, beforeId: 0 });
        if (flags.json) r.rollouts.forEach((x) => console.log(JSON.stringify(x)));
        else {
          console.log("ID     STATE        GROUP         HOSTS ok/fail/skip  UNVERIFIED  STARTED              BY            REASON");
          for (const x of r.rollouts) console.log(formatSummaryLine(x));
        }
      });
    });

  const show = new Command("show")
    .argument("<id>", "rollout id")
    .description("one rollout: policy, every host's step with outcome, evidence strength and probe counts, events")
    .action(async (idText: string, o: GlobalFlags, cmd: Command) => {
      await withController(o, cmd, async (client, flags) => {
        const r = await client.unary<object, ShowResponse>("show", { rolloutId: positiveId(idText) });
        if (flags.json) return console.log(JSON.stringify(r, null, 2));
        for (const part of [r, ...r.linked]) printShow(part);
      });
    });
  const schedules = new Command("schedules")
    .description("scheduled config rollouts: next run, last run and its outcome")
    .action(async (o: GlobalFlags, cmd: Command) => {
      await withController(o, cmd, async (client, flags) => {
        const r = await client.unary<object, ListSchedulesResponse>("listSchedules", {});
        if (flags.json) return r.schedules.forEach((x) => console.log(JSON.stringify(x)));
        for (const x of r.schedules) {
          const next = x.paused ? "paused" : Number(x.nextRunMs) ? `next ${new Date(Number(x.nextRunMs)).toISOString()}` : "no next run";
          const last = x.lastRun
            ? `last ${new Date(Number(x.lastRun.atMs)).toISOString()} ${x.lastRun.outcome}${Number(x.lastRun.rolloutId) ? ` rollout ${x.lastRun.rolloutId} ${x.lastRun.rolloutState}` : ""}: ${x.lastRun.reason}`
            : "never run";
          console.log(`${x.name} [${x.cron}] ${x.source} -> ${x.group}:${x.path}\n  ${next}${x.running ? ", running now" : ""}\n  ${last}`);
        }
      });
    });

  const schedule = new Command("schedule").description("run, pause or resume one schedule");
  for (const action of ["run", "pause", "resume"] as const) {
    schedule
      .command(action)
      .argument("<name>", "schedule name")
      .description(action === "run" ? "run now (still never overlapping itself)" : action === "pause" ? "stop firing until resumed; survives controller restarts" : "fire again on its cron")
      .action(async (name: string, o: GlobalFlags, cmd: Command) => {
        await withController(o, cmd, async (client, flags) => {
          const r = await client.unary<object, ScheduleActionResponse>("scheduleAction", { name, action, caller: caller() }, 30_000);
          console.log(flags.json ? JSON.stringify(r) : r.message);
          if (action === "run" && r.run?.outcome === "skipped") setExit(EXIT.failed);
        });
      });
  }
  return [reload, rollout, resume, abortCmd, status, history, show, schedules, schedule];
}

function printShow(r: ShowResponse): void {
  const x = r.rollout!;
  console.log(`rollout ${x.id}: ${x.kind} ${x.group} (${x.service}) — ${x.state}${Number(x.parentId) ? ` (restores rollout ${x.parentId})` : ""}${x.schedule ? ` [schedule ${x.schedule}]` : ""}`);
  if (x.configPath) console.log(`  config ${x.configPath}${x.configSha256 ? ` sha256 ${x.configSha256.slice(0, 12)}` : ""}`);
  console.log(`  by ${x.requestedBy} from ${x.requestedFrom}${x.reason ? `, reason: ${x.reason}` : ""}`);
  console.log(`  started ${new Date(Number(x.createdAtMs)).toISOString()}${Number(x.finishedAtMs) ? `, took ${formatDuration(Number(x.finishedAtMs) - Number(x.createdAtMs))}` : ""}`);
  console.log(`  ${x.summary}`);
  for (const s of r.steps) {
    const took = s.finishedAtMs && s.startedAtMs ? ` ${formatDuration(Number(s.finishedAtMs) - Number(s.startedAtMs))}` : "";
    const diff = s.newSha256 ? ` ${s.previousSha256.slice(0, 12) || "(none)"} -> ${s.newSha256.slice(0, 12)}` : "";
    const evidence = s.evidence ? ` evidence ${s.evidence}` : "";
    console.log(`  batch ${s.batch}${s.canary ? " canary" : ""} ${s.host.padEnd(24)} ${(s.outcome || s.status).padEnd(12)}${took}${diff}${evidence} probes ${s.probesSent}/${s.probesFailed}/${s.probesRefused}${s.reason && (!s.ok || s.outcome === "unverified") ? `  ${s.reason}` : ""}`);
  }
}

function formatSummaryLine(x: RolloutSummary): string {
  const hosts = `${x.hostsTotal} ${x.hostsOk}/${x.hostsFailed}/${x.hostsSkipped}`;
  return `${String(x.id).padEnd(6)} ${x.state.padEnd(12)} ${x.group.padEnd(13)} ${hosts.padEnd(19)} ${String(x.hostsUnverified || "-").padEnd(11)} ${new Date(Number(x.createdAtMs)).toISOString().slice(0, 19)}  ${x.requestedBy.padEnd(13)} ${x.reason}`;
}

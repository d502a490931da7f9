// Scheduled config rollouts, fired by node-cron inside the controller. Every
// run is a rollout named after its schedule; a run never overlaps the previous
// one; an unchanged source since the last successful run does nothing and says
// so; a busy group skips (or waits, if so declared) with the reason recorded.
import { createHash } from "node:crypto";
import { createTask, type ScheduledTask } from "node-cron";
import { FleetError, notFound } from "../../common/errors.js";
import { readSmallFile } from "../../common/read-small-file.js";
import type { Logger } from "../../common/logger.js";
import type { RolloutStarter, ScheduleStore } from "../controller-api.js";
import type { ScheduleRun } from "../history/history-store.js";
import type { ScheduleConfig } from "../inventory/inventory.js";
import type { SetFile } from "../rollout/render-config-set.js";

export interface ScheduleView {
  name: string;
  cron: string;
  group: string;
  source: string;
  path: string;
  paused: boolean;
  running: boolean;
  nextRun: number | null;
  lastRun?: ScheduleRun & { rolloutState?: string };
}

type Recorder = (run: Omit<ScheduleRun, "name" | "at">) => ScheduleRun;

const WAIT_POLL_MS = 2000;
/** The largest source read (an agent's default gRPC message limit); a larger one could never be pushed. */
export const MAX_SOURCE_BYTES = 4 * 1024 * 1024;
const MAX_WAIT_MS = 3_600_000;

export class Scheduler {
  private tasks = new Map<string, { config: ScheduleConfig; task: ScheduledTask }>();
  private readonly running = new Map<string, Promise<ScheduleRun>>();
  private stopped = false;

  constructor(
    private readonly starter: RolloutStarter,
    private readonly store: ScheduleStore,
    private readonly logger: Logger,
    /** Told of every run (metrics, webhooks). */
    private readonly onRun: (run: ScheduleRun) => void = () => {},
  ) {}

  /** (Re)creates the cron tasks for the inventory's schedules; paused ones stay stopped. */
  apply(schedules: ScheduleConfig[]): void {
    for (const { task } of this.tasks.values()) void task.destroy();
    this.tasks.clear();
    for (const config of schedules) {
      const task = createTask(config.cron, () => this.run(config.name, "cron").then(() => undefined, (err) => this.logger.error("schedule run failed", { schedule: config.name, error: err })), { name: config.name, noOverlap: true });
      this.tasks.set(config.name, { config, task });
      if (!this.store.scheduleState(config.name).paused && !this.stopped) void task.start();
    }
  }

  private entry(name: string) {
    const e = this.tasks.get(name);
    if (!e) throw notFound(`no schedule ${JSON.stringify(name)}; schedules: ${[...this.tasks.keys()].join(", ") || "(none)"}`);
    return e;
  }

  list(): ScheduleView[] {
    return [...this.tasks.values()].map(({ config, task }) => {
      const state = this.store.scheduleState(config.name);
      const last = this.store.lastScheduleRun(config.name);
      return {
        name: config.name,
        cron: config.cron,
        group: config.group,
        source: config.files.map((f) => f.source).join(", "),
        path: config.files.map((f) => f.path).join(", "),
        paused: state.paused,
        running: this.running.has(config.name),
        nextRun: state.paused ? null : task.getNextRun()?.getTime() ?? null,
        lastRun: last ? { ...last, rolloutState: last.rolloutId ? this.store.getRollout(last.rolloutId)?.state : undefined } : undefined,
      };
    });
  }

  pause(name: string): void {
    const { task } = this.entry(name);
    this.store.setSchedulePaused(name, true);
    void task.stop();
  }

  resume(name: string): void {
    const { task } = this.entry(name);
    this.store.setSchedulePaused(name, false);
    if (!this.stopped) void task.start();
  }

  /**
   * One run; also what `fleet schedule run NAME [--force]` calls. Resolves when
   * the run has been decided and started. `force`: every host of the group,
   * even when the source is unchanged and nothing drifted.
   */
  async run(name: string, trigger: "cron" | "manual", force = false): Promise<ScheduleRun> {
    const { config } = this.entry(name);
    const record = (run: Omit<ScheduleRun, "name" | "at">): ScheduleRun => {
      const full = { name, at: Date.now(), ...run };
      this.store.recordScheduleRun(full);
      this.onRun(full);
      this.logger[run.outcome === "started" ? "info" : "warn"]("schedule run", { schedule: name, trigger, ...run });
      return full;
    };
    if (this.running.has(name)) return record({ outcome: "skipped", rolloutId: null, reason: `the previous run of ${name} is still running; a schedule never overlaps itself` });

    const started = this.start(config, force ? `${trigger}, forced` : trigger, force, record);
    this.running.set(name, started.decided);
    void started.finished.finally(() => this.running.delete(name));
    return started.decided;
  }

  private start(config: ScheduleConfig, trigger: string, force: boolean, record: Recorder) {
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    // A run that fails to be decided (the history cannot be written) must not hold the schedule forever.
    const decided = this.decide(config, trigger, force, record, () => finish()).catch((err: unknown) => {
      finish();
      throw err;
    });
    return { decided, finished };
  }

  /**
   * Reads the sources; a set unchanged since the last successful run goes
   * only to the hosts whose live files drifted from what fleet installed
   * (none: nothing to do), unless forced.
   */
  private async decide(config: ScheduleConfig, trigger: string, force: boolean, record: Recorder, finish: () => void): Promise<ScheduleRun> {
    const files = readSources(config);
    if (typeof files === "string") {
      finish();
      return record({ outcome: "skipped", rolloutId: null, reason: files });
    }
    const sha = sourceDigest(files);
    const sources = config.files.map((f) => f.source).join(", ");
    if (force || sha !== this.store.scheduleState(config.name).lastSuccessSourceSha256) return this.startWhenFree(config, trigger, files, sha, { hosts: [], why: "" }, record, finish);
    const drifted = await this.starter.driftedHosts(config.group, config.files.map((f) => f.path)).catch((err: Error) => {
      this.logger.warn("schedule could not check drift", { schedule: config.name, error: err.message });
      return [];
    });
    if (drifted.length === 0) {
      finish();
      return record({ outcome: "unchanged", rolloutId: null, reason: `source ${sources} (sha256 ${sha.slice(0, 12)}) is unchanged since the last successful run; nothing to do (no host drifted)` });
    }
    const why = `drift on ${drifted.map((d) => `${d.name} (${d.paths.join(", ")})`).join(", ")}`;
    return this.startWhenFree(config, trigger, files, sha, { hosts: drifted.map((d) => d.address), why }, record, finish);
  }

  /** Starts the rollout; a busy group skips, or with when_busy: wait polls for up to an hour. */
  private async startWhenFree(config: ScheduleConfig, trigger: string, files: SetFile[], sha: string, only: { hosts: string[]; why: string }, record: Recorder, finish: () => void): Promise<ScheduleRun> {
    const waitUntil = Date.now() + MAX_WAIT_MS;
    for (;;) {
      try {
        const r = this.starter.startConfigRollout(
          {
            group: config.group,
            policy: config.policy,
            hosts: only.hosts,
            reason: `schedule ${config.name} (${trigger})${only.why ? `: ${only.why}` : ""}`,
            caller: { user: `schedule:${config.name}`, host: "controller" },
            peer: "controller",
            allowRestart: false,
            files,
            rollbackAll: false,
            schedule: config.name,
          },
          () => undefined,
        );
        void r.done
          .then((final) => {
            if (final.state === "succeeded") this.store.setScheduleSuccess(config.name, sha);
          })
          .catch((err) => this.logger.error("scheduled rollout failed", { schedule: config.name, error: err }))
          .finally(finish);
        const to = only.hosts.length ? `${config.group} hosts that drifted (${only.why})` : config.group;
        return record({ outcome: "started", rolloutId: r.rollout.id, reason: `rollout ${r.rollout.id} of ${config.files.map((f) => f.source).join(", ")} to ${to}` });
      } catch (err) {
        const busy = err instanceof FleetError && err.kind === "failed_precondition";
        if (!busy || config.whenBusy === "skip" || Date.now() > waitUntil || this.stopped) {
          finish();
          return record({ outcome: "skipped", rolloutId: null, reason: (err as Error).message });
        }
        await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const { task } of this.tasks.values()) void task.destroy();
  }
}

/**
 * Every source's bytes, or why not (naming the schedule and the field). Read
 * without blocking: a FIFO, device or directory put in a source's place is
 * refused at once (a run stalled on it would hold the schedule for good), and
 * so is a file over MAX_SOURCE_BYTES.
 */
function readSources(config: ScheduleConfig): SetFile[] | string {
  const files: SetFile[] = [];
  for (const [i, f] of config.files.entries()) {
    const read = readSmallFile(f.source, MAX_SOURCE_BYTES);
    if (!read.ok) {
      const field = config.files.length === 1 ? "config.source" : `config[${i}].source`;
      return `schedule ${config.name}: ${field}: ${read.reason.startsWith("cannot be read") ? `${f.source} ${read.reason}` : read.reason}; nothing was started`;
    }
    files.push({ path: f.path, content: read.bytes, template: f.template });
  }
  return files;
}

/** What "unchanged since the last successful run" compares: a single plain file's own hash (as before sets), else every path, kind and content. */
function sourceDigest(files: SetFile[]): string {
  const hash = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
  if (files.length === 1 && !files[0]!.template) return hash(files[0]!.content);
  return hash(files.map((f) => `${f.path} ${f.template ? "template" : "file"} ${hash(f.content)}`).join("\n"));
}

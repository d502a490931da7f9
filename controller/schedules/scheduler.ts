// Scheduled config rollouts, fired by node-cron inside the controller. Every
// run is a rollout named after its schedule; a run never overlaps the previous
// one; an unchanged source since the last successful run does nothing and says
// so; a busy group skips (or waits, if so declared) with the reason recorded.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createTask, type ScheduledTask } from "node-cron";
import { FleetError, notFound } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { RolloutStarter, ScheduleStore } from "../controller-api.js";
import type { ScheduleRun } from "../history/history-store.js";
import type { ScheduleConfig } from "../inventory/inventory.js";

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

  /** One run; also what `fleet schedule run NAME` calls. Resolves when the run has been decided and started. */
  async run(name: string, trigger: "cron" | "manual"): Promise<ScheduleRun> {
    const { config } = this.entry(name);
    const record = (run: Omit<ScheduleRun, "name" | "at">): ScheduleRun => {
      const full = { name, at: Date.now(), ...run };
      this.store.recordScheduleRun(full);
      this.onRun(full);
      this.logger[run.outcome === "started" ? "info" : "warn"]("schedule run", { schedule: name, trigger, ...run });
      return full;
    };
    if (this.running.has(name)) return record({ outcome: "skipped", rolloutId: null, reason: `the previous run of ${name} is still running; a schedule never overlaps itself` });

    const started = this.start(config, trigger, record);
    this.running.set(name, started.decided);
    void started.finished.finally(() => this.running.delete(name));
    return started.decided;
  }

  private start(config: ScheduleConfig, trigger: string, record: Recorder) {
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    // A run that fails to be decided (the history cannot be written) must not hold the schedule forever.
    const decided = this.decide(config, trigger, record, () => finish()).catch((err: unknown) => {
      finish();
      throw err;
    });
    return { decided, finished };
  }

  private async decide(config: ScheduleConfig, trigger: string, record: Recorder, finish: () => void): Promise<ScheduleRun> {
    let content: Buffer;
    try {
      content = await readFile(config.files[0]!.source);
    } catch (err) {
      finish();
      return record({ outcome: "skipped", rolloutId: null, reason: `cannot read source ${config.files[0]!.source}: ${(err as Error).message}` });
    }
    const sha = createHash("sha256").update(content).digest("hex");
    if (sha === this.store.scheduleState(config.name).lastSuccessSourceSha256) {
      finish();
      return record({ outcome: "unchanged", rolloutId: null, reason: `source ${config.files[0]!.source} (sha256 ${sha.slice(0, 12)}) is unchanged since the last successful run; nothing to do` });
    }
    return this.startWhenFree(config, trigger, content, sha, record, finish);
  }

  /** Starts the rollout; a busy group skips, or with when_busy: wait polls for up to an hour. */
  private async startWhenFree(config: ScheduleConfig, trigger: string, content: Buffer, sha: string, record: Recorder, finish: () => void): Promise<ScheduleRun> {
    const waitUntil = Date.now() + MAX_WAIT_MS;
    for (;;) {
      try {
        const r = this.starter.startConfigRollout(
          {
            group: config.group,
            policy: config.policy,
            hosts: [],
            reason: `schedule ${config.name} (${trigger})`,
            caller: { user: `schedule:${config.name}`, host: "controller" },
            peer: "controller",
            allowRestart: false,
            path: config.files[0]!.path,
            content,
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
        return record({ outcome: "started", rolloutId: r.rollout.id, reason: `rollout ${r.rollout.id} of ${config.files[0]!.source} to ${config.group}` });
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

// Long file: the jobs framework's one pure core — jobs, runs, their indices, dependencies,
// deadlines and schedules change together, and splitting them would spread one invariant
// (what is persisted after each change) over several files.
//
// The core takes commands (put a job, start or stop a run, put a schedule), events (offers, task
// statuses) and ticks, each with the time, and returns decisions as data: tasks to launch on
// which offer, tasks to kill, and the records to persist (`drainWrites`). The shell persists the
// writes before it acts on launches and before it acknowledges statuses, so whatever the master
// and agents know of, the store knows first.
import type { PlacementPolicy, Quantities } from '../../placement/index.js';
import { type Cron, nextFireMs, parseCron } from './cron.js';
import {
  applyStatus,
  INITIAL_INDEX,
  type IndexRecord,
  isActive,
  MAX_REPLACEMENTS,
  type SupersededTask,
  statusEffect,
  transition,
} from './index-state.js';
import {
  type OfferSlot,
  planCycle,
  orderEntries as planOrder,
  type QueueEntry,
  type WaitReason,
} from './queue.js';
import { disconnectOf, type JobSpec, type ScheduleSpec } from './spec.js';

export type RunStatus = 'INITIAL' | 'ACTIVE' | 'SUCCESS' | 'FAILED';

export interface JobRecord {
  readonly spec: JobSpec;
  readonly schedules: readonly ScheduleSpec[];
  readonly createdAtMs: number;
  /** Runs started so far: the next run id's sequence number. */
  readonly runSeq: number;
  /**
   * Finished runs counted since the job was created (Metronome's `history` counts: finished
   * runs themselves are pruned). Absent in jobs stored before it was kept, and until a run ends.
   */
  readonly finished?: FinishedCounts;
}

export interface FinishedCounts {
  readonly successCount: number;
  readonly failureCount: number;
  readonly lastSuccessAtMs?: number;
  readonly lastFailureAtMs?: number;
}

export interface RunMeta {
  readonly id: string;
  readonly jobId: string;
  /** The job as it was when the run started: a later update does not change a running run. */
  readonly spec: JobSpec;
  readonly createdAtMs: number;
  readonly activatedAtMs?: number;
  readonly finishedAtMs?: number;
  readonly status: RunStatus;
  readonly reason?: string;
  readonly scheduleId?: string;
  /** Set once the run is being stopped (cancelled, failed, past its deadline): why. */
  readonly stopReason?: string;
}

export interface Run {
  meta: RunMeta;
  readonly indices: IndexRecord[];
  /** Indices in `waiting`, in the order they are to be launched. */
  readonly waiting: Set<number>;
  /** Active indices whose task's agent the master reports unreachable. */
  readonly unreachable: Set<number>;
  succeeded: number;
  active: number;
  /** Indices `failed`, `cancelled`; replacements over all indices: the view's counts, kept
   * here so a GET of a 100,000-index run does not walk its indices (bench:jobs polls it). */
  failed: number;
  cancelled: number;
  replacements: number;
  /** Retries spent over all indices. */
  retries: number;
  waitReason: WaitReason | { readonly kind: 'dependencies'; readonly message: string } | undefined;
}

export interface ScheduleState {
  readonly nextFireMs?: number;
  readonly lastFireMs?: number;
  /** Fire times skipped by FORBID or missed past startingDeadlineSeconds. */
  readonly skipped: number;
}

export interface LaunchTask {
  readonly taskId: string;
  readonly run: RunMeta;
  readonly index: number;
}

export interface Launch {
  readonly offerId: string;
  readonly agentId: string;
  readonly tasks: readonly LaunchTask[];
}

export interface Kill {
  readonly taskId: string;
  readonly agentId?: string;
}

/** A record to persist (`value`) or delete (undefined) under `key`. */
export interface Write {
  readonly key: string;
  readonly value: unknown;
}

/** A command refused: `status` is the HTTP status the REST API answers with. */
export class JobsError extends Error {
  constructor(
    /** 503: the change could not be stored (the daemon then restarts from what it holds). */
    readonly status: 400 | 404 | 409 | 422 | 503,
    readonly field: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'JobsError';
  }
}

export interface CoreOptions {
  /** τ of the priority rule's aging (placement's `agingMs`). */
  readonly agingMs: number;
}

/**
 * At most this many of one run's tasks are placed per offer cycle. Placing copies costs
 * log(offers) each (placement's `placeCopies`), so the bound is for the cycle's store batch
 * and ACCEPT bodies, not for planning: a 10,000-index array on 1,000 agents goes out in one
 * cycle, ten tasks per ACCEPT, instead of ten cycles of one task per ACCEPT.
 */
const MAX_LAUNCHES_PER_RUN_PER_CYCLE = 10_000;
/** Finished runs kept per job when no schedule's history limit applies. */
const FINISHED_RUNS_KEPT = 20;

export const keys = {
  job: (jobId: string) => `job/${jobId}`,
  run: (jobId: string, runId: string) => `run/${jobId}/${runId}`,
  index: (jobId: string, runId: string, index: number) => `idx/${jobId}/${runId}/${index}`,
  schedule: (jobId: string, scheduleId: string) => `cron/${jobId}/${scheduleId}`,
};

/** `job.run.index.launch`: job and run ids hold no dots, so the id parses back. */
export function taskIdOf(jobId: string, runId: string, index: number, launch: number): string {
  return `${jobId}.${runId}.${index}.${launch}`;
}

export class JobsCore {
  private readonly jobs = new Map<string, JobRecord>();
  /** By `jobId/runId`, in creation order. */
  private readonly runs = new Map<string, Run>();
  private readonly scheduleStates = new Map<string, ScheduleState>();
  private readonly crons = new Map<string, Cron>();
  /** Per agent, the most of each resource it was ever offered, and its attributes. */
  private readonly agents = new Map<
    string,
    { free: Record<string, number>; attributes: Readonly<Record<string, string>> }
  >();
  private writes = new Map<string, unknown>();
  private kills: Kill[] = [];

  constructor(private readonly options: CoreOptions) {}

  /** Rebuilds the core from what the store held (the records `drainWrites` gave it). */
  static restore(records: ReadonlyMap<string, unknown>, options: CoreOptions): JobsCore {
    const core = new JobsCore(options);
    const sorted = [...records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [key, value] of sorted)
      if (key.startsWith('job/')) core.jobs.set(key.slice(4), value as JobRecord);
    const runMetas = sorted
      .filter(([key]) => key.startsWith('run/'))
      .map(([, value]) => value as RunMeta)
      .sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
    for (const meta of runMetas) core.runs.set(`${meta.jobId}/${meta.id}`, newRun(meta));
    for (const [key, value] of sorted) {
      if (key.startsWith('idx/')) {
        const [, jobId = '', runId = '', index = ''] = key.split('/');
        const run = core.runs.get(`${jobId}/${runId}`);
        const i = Number(index);
        if (run !== undefined && i >= 0 && i < run.indices.length)
          run.indices[i] = value as IndexRecord;
      } else if (key.startsWith('cron/'))
        core.scheduleStates.set(key.slice(5), value as ScheduleState);
    }
    for (const run of core.runs.values()) recount(run);
    for (const job of core.jobs.values())
      for (const schedule of job.schedules) core.compile(job.spec.id, schedule);
    core.writes.clear();
    return core;
  }

  // ---- commands ----

  getJob(jobId: string): JobRecord | undefined {
    return this.jobs.get(jobId);
  }

  listJobs(): JobRecord[] {
    return [...this.jobs.values()];
  }

  /** Creates (`isCreate`) or replaces a job. Dependencies must name existing jobs, without a cycle. */
  putJob(spec: JobSpec, nowMs: number, isCreate: boolean): JobRecord {
    const existing = this.jobs.get(spec.id);
    if (isCreate && existing !== undefined)
      throw new JobsError(409, 'id', `job '${spec.id}' already exists`);
    if (!isCreate && existing === undefined) throw new JobsError(404, 'id', `no job '${spec.id}'`);
    for (const [i, dep] of spec.dependencies.entries())
      if (!this.jobs.has(dep))
        throw new JobsError(422, `dependencies[${i}]`, `no job '${dep}' to depend on`);
    const cycle = this.cycleThrough(spec);
    if (cycle !== undefined)
      throw new JobsError(
        422,
        'dependencies',
        `dependencies would form a cycle: ${cycle.join(' -> ')}`,
      );
    const record: JobRecord = {
      spec,
      schedules: existing?.schedules ?? [],
      createdAtMs: existing?.createdAtMs ?? nowMs,
      runSeq: existing?.runSeq ?? 0,
      ...(existing?.finished !== undefined ? { finished: existing.finished } : {}),
    };
    this.setJob(record);
    return record;
  }

  /** Deletes a job with no active run; its finished runs and schedules go with it. */
  deleteJob(jobId: string): void {
    if (!this.jobs.has(jobId)) throw new JobsError(404, undefined, `no job '${jobId}'`);
    const dependents = [...this.jobs.values()].filter((j) => j.spec.dependencies.includes(jobId));
    if (dependents.length > 0)
      throw new JobsError(
        409,
        undefined,
        `job '${jobId}' is a dependency of ${dependents.map((j) => `'${j.spec.id}'`).join(', ')}`,
      );
    if (this.runsOf(jobId).some((r) => !isFinished(r)))
      throw new JobsError(409, undefined, `job '${jobId}' has an active run: stop it first`);
    for (const run of this.runsOf(jobId)) this.dropRun(run);
    for (const schedule of this.jobs.get(jobId)?.schedules ?? [])
      this.dropSchedule(jobId, schedule.id);
    this.jobs.delete(jobId);
    this.write(keys.job(jobId), undefined);
  }

  /** Starts a run of the job now; it waits for its dependencies first. */
  startRun(jobId: string, nowMs: number, scheduleId?: string): Run {
    const job = this.jobs.get(jobId);
    if (job === undefined) throw new JobsError(404, undefined, `no job '${jobId}'`);
    const seq = job.runSeq + 1;
    this.setJob({ ...job, runSeq: seq });
    const meta: RunMeta = {
      id: runIdOf(nowMs, seq),
      jobId,
      spec: job.spec,
      createdAtMs: nowMs,
      status: 'INITIAL',
      ...(scheduleId !== undefined ? { scheduleId } : {}),
    };
    const run = newRun(meta);
    this.runs.set(`${jobId}/${meta.id}`, run);
    this.write(keys.run(jobId, meta.id), meta);
    this.resolveDependencies(nowMs);
    return run;
  }

  getRun(jobId: string, runId: string): Run | undefined {
    return this.runs.get(`${jobId}/${runId}`);
  }

  runsOf(jobId: string): Run[] {
    return [...this.runs.values()].filter((r) => r.meta.jobId === jobId);
  }

  allRuns(): Run[] {
    return [...this.runs.values()];
  }

  /** Stops a run: waiting indices are cancelled, running ones killed. */
  stopRun(jobId: string, runId: string, reason: string, nowMs: number): Run {
    const run = this.runs.get(`${jobId}/${runId}`);
    if (run === undefined)
      throw new JobsError(404, undefined, `no run '${runId}' of job '${jobId}'`);
    if (!isFinished(run)) this.stop(run, reason, nowMs);
    return run;
  }

  putSchedule(jobId: string, schedule: ScheduleSpec, nowMs: number, isCreate: boolean): void {
    const job = this.jobs.get(jobId);
    if (job === undefined) throw new JobsError(404, undefined, `no job '${jobId}'`);
    const exists = job.schedules.some((s) => s.id === schedule.id);
    if (isCreate && exists)
      throw new JobsError(409, 'id', `schedule '${schedule.id}' already exists`);
    if (!isCreate && !exists) throw new JobsError(404, 'id', `no schedule '${schedule.id}'`);
    if (isCreate && job.schedules.length >= 16)
      throw new JobsError(422, undefined, 'at most 16 schedules per job');
    const schedules = [...job.schedules.filter((s) => s.id !== schedule.id), schedule];
    this.setJob({ ...job, schedules });
    this.compile(jobId, schedule);
    // The next fire time counts from now: a schedule does not fire for times before it existed.
    this.setScheduleState(jobId, schedule.id, {
      skipped: this.scheduleStates.get(`${jobId}/${schedule.id}`)?.skipped ?? 0,
      ...this.nextFire(jobId, schedule, nowMs),
    });
  }

  deleteSchedule(jobId: string, scheduleId: string): void {
    const job = this.jobs.get(jobId);
    if (job === undefined || !job.schedules.some((s) => s.id === scheduleId))
      throw new JobsError(404, undefined, `no schedule '${scheduleId}' of job '${jobId}'`);
    this.setJob({ ...job, schedules: job.schedules.filter((s) => s.id !== scheduleId) });
    this.dropSchedule(jobId, scheduleId);
  }

  scheduleState(jobId: string, scheduleId: string): ScheduleState | undefined {
    return this.scheduleStates.get(`${jobId}/${scheduleId}`);
  }

  // ---- events ----

  /**
   * One offer cycle: places launchable tasks on `offers` (priority across runs, the job's policy
   * within one). Each launched index is `staging` with its task id before this returns, and its
   * write is queued: the shell persists, then ACCEPTs.
   */
  offers(offers: readonly (OfferSlot & { readonly agentUrl: string })[], nowMs: number): Launch[] {
    for (const offer of offers) this.learnAgent(offer.agentId, offer.free, offer.attributes);
    const entries = this.queueEntries(nowMs, MAX_LAUNCHES_PER_RUN_PER_CYCLE, offers);
    if (entries.length === 0) return [];
    const capacities = [...this.agents.values()];
    const plan = planCycle(entries, offers, {
      nowMs,
      agingMs: this.options.agingMs,
      clusterCapacity: sumOf(capacities.map((a) => a.free)),
      agentCapacities: capacities,
    });
    const byOffer = new Map<string, LaunchTask[]>();
    const offerById = new Map(offers.map((o) => [o.offerId, o]));
    for (const [key, perOffer] of plan.placements) {
      const run = this.runs.get(key);
      if (run === undefined) continue;
      const ready = this.readyIndices(
        run,
        nowMs,
        [...perOffer.values()].reduce((a, b) => a + b, 0),
      );
      let next = 0;
      for (const [offerId, count] of perOffer) {
        const offer = offerById.get(offerId);
        if (offer === undefined) continue;
        const tasks = byOffer.get(offerId) ?? [];
        for (let n = 0; n < count && next < ready.length; n++) {
          const index = ready[next++] as number;
          tasks.push(this.launch(run, index, offer.agentId, offer.agentUrl, nowMs));
        }
        byOffer.set(offerId, tasks);
      }
    }
    for (const entry of entries) {
      const run = this.runs.get(entry.key);
      if (run !== undefined) run.waitReason = plan.waiting.get(entry.key);
    }
    return [...byOffer]
      .filter(([, tasks]) => tasks.length > 0)
      .map(([offerId, tasks]) => ({
        offerId,
        agentId: offerById.get(offerId)?.agentId ?? '',
        tasks,
      }));
  }

  /** A task status. Unknown or stale task ids (an older launch of the index) change nothing. */
  update(
    taskId: string,
    state: Parameters<typeof applyStatus>[2],
    message: string | undefined,
    nowMs: number,
  ): void {
    const found = this.findTask(taskId);
    if (found === undefined) return;
    const { run, index } = found;
    if (found.superseded !== undefined) {
      this.updateSuperseded(run, index, found.superseded, state, nowMs);
      return;
    }
    const before = run.indices[index] ?? INITIAL_INDEX;
    const spec = run.meta.spec;
    const after = applyStatus(`${taskId}`, before, state, message, spec, nowMs);
    if (after === before) return;
    this.setIndex(run, index, after);
    if (before.phase !== 'waiting' && after.phase === 'waiting' && after.failures > before.failures)
      run.retries++;
    if (after.phase === 'failed' && run.meta.stopReason === undefined)
      this.stop(
        run,
        `index ${index} failed after ${after.failures} attempts: ${after.message ?? ''}`,
        nowMs,
      );
    this.settle(run, nowMs);
    if (isFinished(run)) this.resolveDependencies(nowMs);
  }

  /** Time passing: deadlines, due schedules, dependencies. Returns nothing; see the outboxes. */
  tick(nowMs: number): void {
    for (const run of this.runs.values()) {
      const deadlineSeconds = run.meta.spec.activeDeadlineSeconds;
      if (
        run.meta.status === 'ACTIVE' &&
        run.meta.stopReason === undefined &&
        deadlineSeconds !== undefined &&
        run.meta.activatedAtMs !== undefined &&
        nowMs - run.meta.activatedAtMs >= deadlineSeconds * 1000
      )
        this.stop(run, `DeadlineExceeded: active longer than ${deadlineSeconds} s`, nowMs);
      const launchDelay = run.meta.spec.run.maxLaunchDelay;
      if (
        run.meta.status === 'ACTIVE' &&
        run.meta.stopReason === undefined &&
        launchDelay !== undefined &&
        run.meta.activatedAtMs !== undefined &&
        nowMs - run.meta.activatedAtMs >= launchDelay * 1000 &&
        hasNeverLaunched(run)
      )
        this.stop(run, `maxLaunchDelay: not all launched within ${launchDelay} s`, nowMs);
      if (run.unreachable.size > 0) this.replaceLost(run, nowMs);
    }
    for (const job of [...this.jobs.values()])
      for (const schedule of job.schedules) this.fireIfDue(job.spec.id, schedule, nowMs);
    this.resolveDependencies(nowMs);
  }

  /** Whether any run has a task that could launch now: the framework REVIVEs, else SUPPRESSes. */
  hasLaunchable(nowMs: number): boolean {
    // Called after every flush: one ready index per run is enough, not a count of them all.
    for (const run of this.runs.values()) {
      if (run.meta.status !== 'ACTIVE' || run.meta.stopReason !== undefined) continue;
      if (run.active >= run.meta.spec.parallelism) continue;
      if (this.readyIndices(run, nowMs, 1).length > 0) return true;
    }
    return false;
  }

  /** The earliest time something is due (a backoff ends, a deadline, a schedule), if any. */
  nextWakeMs(): number | undefined {
    let earliest = Number.POSITIVE_INFINITY;
    for (const run of this.runs.values()) {
      if (isFinished(run)) continue;
      const deadline = run.meta.spec.activeDeadlineSeconds;
      if (deadline !== undefined && run.meta.activatedAtMs !== undefined)
        earliest = Math.min(earliest, run.meta.activatedAtMs + deadline * 1000);
      const launchDelay = run.meta.spec.run.maxLaunchDelay;
      // Only while an index waits for its first launch: once all launched, it is never due.
      if (
        launchDelay !== undefined &&
        run.meta.activatedAtMs !== undefined &&
        hasNeverLaunched(run)
      )
        earliest = Math.min(earliest, run.meta.activatedAtMs + launchDelay * 1000);
      for (const i of run.waiting) {
        const notBefore = run.indices[i]?.notBeforeMs;
        if (notBefore !== undefined) earliest = Math.min(earliest, notBefore);
      }
      const lostAtMs = this.lostAtMs(run);
      for (const i of run.unreachable) {
        const since = run.indices[i]?.unreachableSinceMs;
        if (since !== undefined && lostAtMs !== undefined)
          earliest = Math.min(earliest, since + lostAtMs);
      }
    }
    for (const state of this.scheduleStates.values())
      if (state.nextFireMs !== undefined) earliest = Math.min(earliest, state.nextFireMs);
    return Number.isFinite(earliest) ? earliest : undefined;
  }

  /** Every task launched and not known to be over: what to reconcile after a (re)subscription. */
  activeTasks(): Kill[] {
    const tasks: Kill[] = [];
    for (const run of this.runs.values())
      for (const record of run.indices) {
        if (isActive(record.phase) && record.taskId !== undefined)
          tasks.push({
            taskId: record.taskId,
            ...(record.agentId !== undefined ? { agentId: record.agentId } : {}),
          });
        // Replaced tasks may still run on an agent that comes back: their state is asked too.
        for (const old of record.superseded ?? []) tasks.push(killOf(old));
      }
    return tasks;
  }

  /** Where a run's index ran last: for its logs. */
  indexRecord(run: Run, index: number): IndexRecord | undefined {
    return run.indices[index];
  }

  /** Runs (keys) ahead of this one in the priority order right now, counting only those that wait. */
  queuePosition(run: Run, nowMs: number): number | undefined {
    // The order does not weigh how many tasks a run could launch: one ready index is enough.
    const entries = this.queueEntries(nowMs, 1);
    const at = orderKeys(
      entries,
      this.options.agingMs,
      nowMs,
      [...this.agents.values()].map((a) => a.free),
    );
    const position = at.indexOf(`${run.meta.jobId}/${run.meta.id}`);
    return position < 0 ? undefined : position;
  }

  drainWrites(): Write[] {
    const writes = [...this.writes].map(([key, value]) => ({ key, value }));
    this.writes = new Map();
    return writes;
  }

  drainKills(): Kill[] {
    const kills = this.kills;
    this.kills = [];
    return kills;
  }

  // ---- inside ----

  private write(key: string, value: unknown): void {
    this.writes.set(key, value);
  }

  private setJob(record: JobRecord): void {
    this.jobs.set(record.spec.id, record);
    this.write(keys.job(record.spec.id), record);
  }

  private setMeta(run: Run, meta: RunMeta): void {
    run.meta = meta;
    this.write(keys.run(meta.jobId, meta.id), meta);
  }

  private setIndex(run: Run, index: number, record: IndexRecord): void {
    const before = run.indices[index] ?? INITIAL_INDEX;
    run.indices[index] = record;
    if (before.phase === 'waiting') run.waiting.delete(index);
    if (record.phase === 'waiting') run.waiting.add(index);
    if (isActive(before.phase)) run.active--;
    if (isActive(record.phase)) run.active++;
    if (isActive(record.phase) && record.unreachableSinceMs !== undefined)
      run.unreachable.add(index);
    else run.unreachable.delete(index);
    if (before.phase !== 'succeeded' && record.phase === 'succeeded') run.succeeded++;
    if (before.phase !== record.phase) {
      if (before.phase === 'failed') run.failed--;
      else if (before.phase === 'cancelled') run.cancelled--;
      if (record.phase === 'failed') run.failed++;
      else if (record.phase === 'cancelled') run.cancelled++;
    }
    run.replacements += (record.replacements ?? 0) - (before.replacements ?? 0);
    this.write(keys.index(run.meta.jobId, run.meta.id, index), record);
  }

  private setScheduleState(jobId: string, scheduleId: string, state: ScheduleState): void {
    this.scheduleStates.set(`${jobId}/${scheduleId}`, state);
    this.write(keys.schedule(jobId, scheduleId), state);
  }

  private launch(
    run: Run,
    index: number,
    agentId: string,
    agentUrl: string,
    nowMs: number,
  ): LaunchTask {
    const record = run.indices[index] ?? INITIAL_INDEX;
    const launches = record.launches + 1;
    const taskId = taskIdOf(run.meta.jobId, run.meta.id, index, launches);
    const { notBeforeMs: _, ...rest } = record;
    this.setIndex(
      run,
      index,
      transition(taskId, rest, 'staging', {
        launches,
        taskId,
        agentId,
        agentUrl,
        startedAtMs: nowMs,
      }),
    );
    return { taskId, run: run.meta, index };
  }

  /** The index whose current task (or, `superseded`, whose replaced task) `taskId` is. */
  private findTask(
    taskId: string,
  ): { run: Run; index: number; superseded?: SupersededTask } | undefined {
    const [jobId, runId, indexText] = taskId.split('.');
    const run = this.runs.get(`${jobId}/${runId}`);
    const index = Number(indexText);
    if (run === undefined || !Number.isInteger(index)) return undefined;
    const record = run.indices[index];
    if (record === undefined) return undefined;
    const superseded = record.superseded?.find((old) => old.taskId === taskId);
    if (superseded !== undefined) return { run, index, superseded };
    return record.taskId === taskId ? { run, index } : undefined;
  }

  /** Milliseconds an unreachable task of `run` is given before it is replaced; undefined: never. */
  private lostAtMs(run: Run): number | undefined {
    const policy = disconnectOf(run.meta.spec);
    return policy.replace ? policy.lostAfterSeconds * 1000 : undefined;
  }

  /**
   * Indices of `run` whose agent has been unreachable for `disconnect.lostAfterSeconds`: back to
   * `waiting` at once, their task kept as superseded. Neither a failure nor a retry (spec.ts).
   */
  private replaceLost(run: Run, nowMs: number): void {
    const lostAtMs = this.lostAtMs(run);
    if (lostAtMs === undefined || isFinished(run) || run.meta.stopReason !== undefined) return;
    for (const i of [...run.unreachable]) {
      const record = run.indices[i];
      if (record?.unreachableSinceMs === undefined || record.taskId === undefined) continue;
      if (nowMs - record.unreachableSinceMs < lostAtMs) continue;
      const replacements = (record.replacements ?? 0) + 1;
      if (replacements > MAX_REPLACEMENTS) continue;
      const { unreachableSinceMs, taskId, agentId, agentUrl, ...rest } = record;
      const old: SupersededTask = {
        taskId,
        ...(agentId !== undefined ? { agentId } : {}),
        ...(agentUrl !== undefined ? { agentUrl } : {}),
      };
      this.setIndex(
        run,
        i,
        transition(taskId, rest, 'waiting', {
          notBeforeMs: nowMs,
          replacements,
          superseded: [...(record.superseded ?? []), old],
          message: `replaced: its agent was unreachable for ${Math.round((nowMs - unreachableSinceMs) / 1000)} s`,
        }),
      );
    }
  }

  /**
   * A status of a task replaced while its agent was unreachable. Back and running: adopted as
   * the index's task if no replacement was launched, else killed. Finished: the index's work is
   * done, whatever its replacement does (which is killed). Ended otherwise: forgotten; the
   * replacement carries the index.
   */
  private updateSuperseded(
    run: Run,
    index: number,
    old: SupersededTask,
    state: Parameters<typeof applyStatus>[2],
    nowMs: number,
  ): void {
    const record = run.indices[index] ?? INITIAL_INDEX;
    const others = (record.superseded ?? []).filter((t) => t.taskId !== old.taskId);
    const withoutOld = { ...record, superseded: others };
    // What the index looks like with `old` as its task again: none of the replacement's ids.
    const {
      taskId: _t,
      agentId: _a,
      agentUrl: _u,
      notBeforeMs: _n,
      unreachableSinceMs: _s,
      ...asOld
    } = withoutOld;
    const effect = statusEffect(state, true);
    switch (effect.kind) {
      case 'none':
        return;
      case 'running': {
        const isAdoptable =
          record.phase === 'waiting' && run.meta.stopReason === undefined && !isFinished(run);
        if (!isAdoptable) {
          this.kills.push(killOf(old));
          return;
        }
        this.setIndex(
          run,
          index,
          transition(old.taskId, asOld, 'running', {
            ...old,
            message: 'its agent came back before a replacement was launched: task adopted',
          }),
        );
        return;
      }
      case 'succeeded': {
        if (
          record.phase === 'succeeded' ||
          record.phase === 'failed' ||
          record.phase === 'cancelled'
        ) {
          this.setIndex(run, index, withoutOld);
          return;
        }
        // The replacement (if launched) is now the superseded one, and killed.
        const replacement: SupersededTask[] =
          isActive(record.phase) && record.taskId !== undefined
            ? [
                {
                  taskId: record.taskId,
                  ...(record.agentId !== undefined ? { agentId: record.agentId } : {}),
                },
              ]
            : [];
        for (const task of replacement) this.kills.push(killOf(task));
        this.setIndex(
          run,
          index,
          transition(old.taskId, asOld, 'succeeded', {
            ...old,
            superseded: [...others, ...replacement],
            finishedAtMs: nowMs,
            message: 'finished on the agent that was unreachable',
          }),
        );
        this.settle(run, nowMs);
        if (isFinished(run)) this.resolveDependencies(nowMs);
        return;
      }
      case 'failed':
      case 'not-run':
        this.setIndex(run, index, withoutOld);
        return;
    }
  }

  /** The first `limit` waiting indices whose backoff is over. */
  private readyIndices(run: Run, nowMs: number, limit: number): number[] {
    const ready: number[] = [];
    for (const i of run.waiting) {
      if (ready.length >= limit) break;
      const notBefore = run.indices[i]?.notBeforeMs;
      if (notBefore === undefined || notBefore <= nowMs) ready.push(i);
    }
    return ready;
  }

  /**
   * The runs with tasks to launch. With this cycle's `offers`, a run's launchable count is
   * capped at what the offers could hold of its tasks, plus one: one agent freeing room for a
   * task at a time (a real agent, offered again as each task ends) made every cycle list
   * thousands of ready indices to place one. The one more keeps a run that fills the offers
   * seen as waiting for room, as it was.
   */
  private queueEntries(
    nowMs: number,
    launchableLimit = MAX_LAUNCHES_PER_RUN_PER_CYCLE,
    offers?: readonly OfferSlot[],
  ): QueueEntry[] {
    const entries: QueueEntry[] = [];
    for (const [key, run] of this.runs) {
      if (
        run.meta.status !== 'ACTIVE' ||
        run.meta.stopReason !== undefined ||
        run.waiting.size === 0
      )
        continue;
      const slack = run.meta.spec.parallelism - run.active;
      if (slack <= 0) {
        run.waitReason = undefined;
        continue;
      }
      const spec = run.meta.spec;
      const demand = demandOf(spec);
      const room = offers === undefined ? launchableLimit : copiesThatFit(demand, offers) + 1;
      // Bounded per cycle: the cycle's store batch and ACCEPT bodies; the rest go next cycle.
      const launchable = this.readyIndices(
        run,
        nowMs,
        Math.min(slack, launchableLimit, room),
      ).length;
      if (launchable === 0) continue;
      entries.push({
        key,
        demand,
        submittedAtMs: run.meta.activatedAtMs ?? run.meta.createdAtMs,
        launchable,
        policy: spec.placement.policy as PlacementPolicy,
        constraints: spec.placement.constraints,
        role: spec.run.role ?? '*',
      });
    }
    return entries;
  }

  private learnAgent(
    agentId: string,
    free: Quantities,
    attributes: Readonly<Record<string, string>>,
  ): void {
    const known = this.agents.get(agentId) ?? { free: {}, attributes };
    for (const [name, q] of Object.entries(free))
      known.free[name] = Math.max(known.free[name] ?? 0, q);
    known.attributes = attributes;
    this.agents.set(agentId, known);
  }

  /** Stops launching for `run`, cancels its waiting indices and kills its active ones. */
  private stop(run: Run, reason: string, nowMs: number): void {
    if (run.meta.stopReason !== undefined || isFinished(run)) return;
    this.setMeta(run, { ...run.meta, stopReason: reason });
    for (const i of [...run.waiting])
      this.setIndex(
        run,
        i,
        transition(`index ${i}`, run.indices[i] ?? INITIAL_INDEX, 'cancelled', {
          finishedAtMs: nowMs,
        }),
      );
    for (const [i, record] of run.indices.entries()) {
      // Best effort: one that comes back later is killed then (updateSuperseded).
      for (const old of record.superseded ?? []) this.kills.push(killOf(old));
      if (!isActive(record.phase) || record.taskId === undefined) continue;
      this.setIndex(run, i, { ...record, isKillWanted: true });
      this.kills.push({
        taskId: record.taskId,
        ...(record.agentId !== undefined ? { agentId: record.agentId } : {}),
      });
    }
    this.settle(run, nowMs);
  }

  /** Finishes a run whose indices all succeeded, or that was stopped and has nothing running. */
  private settle(run: Run, nowMs: number): void {
    if (isFinished(run)) return;
    if (run.succeeded === run.indices.length) this.finish(run, 'SUCCESS', undefined, nowMs);
    else if (run.meta.stopReason !== undefined && run.active === 0)
      this.finish(run, 'FAILED', run.meta.stopReason, nowMs);
  }

  private finish(
    run: Run,
    status: 'SUCCESS' | 'FAILED',
    reason: string | undefined,
    nowMs: number,
  ): void {
    const { stopReason: _, ...meta } = run.meta;
    this.setMeta(run, {
      ...meta,
      status,
      finishedAtMs: nowMs,
      ...(reason !== undefined ? { reason } : {}),
    });
    run.waitReason = undefined;
    this.countFinished(run.meta.jobId, status, nowMs);
    this.pruneHistory(run.meta.jobId, run.meta.scheduleId);
  }

  private countFinished(jobId: string, status: 'SUCCESS' | 'FAILED', nowMs: number): void {
    const job = this.jobs.get(jobId);
    if (job === undefined) return;
    const counts = job.finished ?? { successCount: 0, failureCount: 0 };
    this.setJob({
      ...job,
      finished:
        status === 'SUCCESS'
          ? { ...counts, successCount: counts.successCount + 1, lastSuccessAtMs: nowMs }
          : { ...counts, failureCount: counts.failureCount + 1, lastFailureAtMs: nowMs },
    });
  }

  /** Keeps a schedule's history limits, and at most FINISHED_RUNS_KEPT finished runs per job. */
  private pruneHistory(jobId: string, scheduleId: string | undefined): void {
    const finished = this.runsOf(jobId).filter(isFinished);
    const schedule = this.jobs.get(jobId)?.schedules.find((s) => s.id === scheduleId);
    if (schedule !== undefined) {
      const mine = finished.filter((r) => r.meta.scheduleId === scheduleId);
      const ok = mine.filter((r) => r.meta.status === 'SUCCESS');
      const failed = mine.filter((r) => r.meta.status === 'FAILED');
      for (const run of ok.slice(0, Math.max(0, ok.length - schedule.successfulHistoryLimit)))
        this.dropRun(run);
      for (const run of failed.slice(0, Math.max(0, failed.length - schedule.failedHistoryLimit)))
        this.dropRun(run);
    }
    const left = this.runsOf(jobId).filter(isFinished);
    for (const run of left.slice(0, Math.max(0, left.length - FINISHED_RUNS_KEPT)))
      this.dropRun(run);
  }

  private dropRun(run: Run): void {
    // A run some dependent still waits on is its dependency's latest: never the one dropped,
    // since history keeps the newest.
    this.runs.delete(`${run.meta.jobId}/${run.meta.id}`);
    this.write(keys.run(run.meta.jobId, run.meta.id), undefined);
    for (const [i, record] of run.indices.entries())
      if (record !== INITIAL_INDEX)
        this.write(keys.index(run.meta.jobId, run.meta.id, i), undefined);
  }

  private dropSchedule(jobId: string, scheduleId: string): void {
    this.scheduleStates.delete(`${jobId}/${scheduleId}`);
    this.crons.delete(`${jobId}/${scheduleId}`);
    this.write(keys.schedule(jobId, scheduleId), undefined);
  }

  /** INITIAL runs start once every dependency's latest run succeeded, and fail if one failed. */
  private resolveDependencies(nowMs: number): void {
    for (;;) {
      let changed = false;
      for (const run of this.runs.values()) {
        if (run.meta.status !== 'INITIAL') continue;
        if (run.meta.stopReason !== undefined) {
          this.finish(run, 'FAILED', run.meta.stopReason, nowMs);
          changed = true;
          continue;
        }
        const verdict = this.dependencyVerdict(run);
        if (verdict.kind === 'wait') {
          run.waitReason = { kind: 'dependencies', message: verdict.message };
        } else if (verdict.kind === 'failed') {
          this.finish(run, 'FAILED', verdict.message, nowMs);
          changed = true;
        } else {
          this.setMeta(run, { ...run.meta, status: 'ACTIVE', activatedAtMs: nowMs });
          run.waitReason = undefined;
          changed = true;
        }
      }
      if (!changed) return;
    }
  }

  private dependencyVerdict(
    run: Run,
  ): { kind: 'ready' } | { kind: 'wait'; message: string } | { kind: 'failed'; message: string } {
    for (const dep of run.meta.spec.dependencies) {
      if (!this.jobs.has(dep))
        return { kind: 'failed', message: `dependency '${dep}' no longer exists` };
      const latest = this.runsOf(dep).at(-1);
      if (latest === undefined)
        return { kind: 'wait', message: `waiting for dependency '${dep}' to run` };
      if (latest.meta.status === 'FAILED')
        return {
          kind: 'failed',
          message: `dependency '${dep}' failed (run ${latest.meta.id}: ${latest.meta.reason ?? 'failed'})`,
        };
      if (latest.meta.status !== 'SUCCESS')
        return {
          kind: 'wait',
          message: `waiting for dependency '${dep}' (run ${latest.meta.id} is ${latest.meta.status})`,
        };
    }
    return { kind: 'ready' };
  }

  private cycleThrough(spec: JobSpec): string[] | undefined {
    const depsOf = (id: string) =>
      id === spec.id ? spec.dependencies : (this.jobs.get(id)?.spec.dependencies ?? []);
    const path: string[] = [];
    const onPath = new Set<string>();
    const done = new Set<string>();
    const visit = (id: string): string[] | undefined => {
      if (onPath.has(id)) return [...path.slice(path.indexOf(id)), id];
      if (done.has(id)) return undefined;
      onPath.add(id);
      path.push(id);
      for (const dep of depsOf(id)) {
        const cycle = visit(dep);
        if (cycle !== undefined) return cycle;
      }
      path.pop();
      onPath.delete(id);
      done.add(id);
      return undefined;
    };
    return visit(spec.id);
  }

  private compile(jobId: string, schedule: ScheduleSpec): void {
    const parsed = parseCron(schedule.cron);
    if (parsed.kind === 'ok') this.crons.set(`${jobId}/${schedule.id}`, parsed.cron);
  }

  private nextFire(
    jobId: string,
    schedule: ScheduleSpec,
    afterMs: number,
  ): { nextFireMs?: number } {
    const cron = this.crons.get(`${jobId}/${schedule.id}`);
    if (cron === undefined || !schedule.enabled) return {};
    const next = nextFireMs(cron, afterMs, schedule.timezone);
    return next !== undefined ? { nextFireMs: next } : {};
  }

  /**
   * A schedule whose time has come: too late (past startingDeadlineSeconds, e.g. while the
   * framework was down) it is skipped; otherwise its concurrencyPolicy decides — ALLOW starts
   * a run, FORBID skips while one is active, REPLACE stops the active ones and starts a run.
   */
  private fireIfDue(jobId: string, schedule: ScheduleSpec, nowMs: number): void {
    const state = this.scheduleStates.get(`${jobId}/${schedule.id}`) ?? { skipped: 0 };
    const due = state.nextFireMs;
    if (due === undefined || due > nowMs || !schedule.enabled) return;
    const next = this.nextFire(jobId, schedule, nowMs);
    const active = this.runsOf(jobId).filter((r) => !isFinished(r));
    const isLate = nowMs - due > schedule.startingDeadlineSeconds * 1000;
    if (isLate || (schedule.concurrencyPolicy === 'FORBID' && active.length > 0)) {
      this.setScheduleState(jobId, schedule.id, {
        ...withLast(state),
        skipped: state.skipped + 1,
        ...next,
      });
      return;
    }
    if (schedule.concurrencyPolicy === 'REPLACE')
      for (const run of active)
        this.stop(run, `replaced by a run of schedule '${schedule.id}'`, nowMs);
    this.setScheduleState(jobId, schedule.id, {
      skipped: state.skipped,
      lastFireMs: nowMs,
      ...next,
    });
    this.startRun(jobId, nowMs, schedule.id);
  }
}

function withLast(state: ScheduleState): { lastFireMs?: number } {
  return state.lastFireMs !== undefined ? { lastFireMs: state.lastFireMs } : {};
}

function newRun(meta: RunMeta): Run {
  const completions = meta.spec.completions;
  const run: Run = {
    meta,
    indices: new Array<IndexRecord>(completions).fill(INITIAL_INDEX),
    waiting: new Set(),
    unreachable: new Set(),
    succeeded: 0,
    active: 0,
    failed: 0,
    cancelled: 0,
    replacements: 0,
    retries: 0,
    waitReason: undefined,
  };
  recount(run);
  return run;
}

function recount(run: Run): void {
  run.waiting.clear();
  run.unreachable.clear();
  run.succeeded = 0;
  run.active = 0;
  run.failed = 0;
  run.cancelled = 0;
  run.replacements = 0;
  run.retries = 0;
  for (const [i, record] of run.indices.entries()) {
    if (record.phase === 'waiting') run.waiting.add(i);
    if (record.phase === 'succeeded') run.succeeded++;
    if (record.phase === 'failed') run.failed++;
    if (record.phase === 'cancelled') run.cancelled++;
    run.replacements += record.replacements ?? 0;
    if (isActive(record.phase)) run.active++;
    if (isActive(record.phase) && record.unreachableSinceMs !== undefined) run.unreachable.add(i);
    run.retries += Math.min(record.failures, run.meta.spec.maxRetries);
  }
}

function killOf(task: SupersededTask): Kill {
  return { taskId: task.taskId, ...(task.agentId !== undefined ? { agentId: task.agentId } : {}) };
}

export function isFinished(run: Run): boolean {
  return run.meta.status === 'SUCCESS' || run.meta.status === 'FAILED';
}

export function demandOf(spec: JobSpec): Quantities {
  const demand: Record<string, number> = { cpus: spec.run.cpus, mem: spec.run.mem };
  if (spec.run.disk > 0) demand.disk = spec.run.disk;
  if (spec.run.gpus > 0) demand.gpus = spec.run.gpus;
  return demand;
}

/** How many copies of `demand` the offers could hold at most, each on its own (an upper bound). */
export function copiesThatFit(demand: Quantities, offers: readonly OfferSlot[]): number {
  let total = 0;
  for (const offer of offers) {
    let copies = Number.POSITIVE_INFINITY;
    for (const name in demand) {
      const q = demand[name] ?? 0;
      if (q <= 0) continue;
      // Quantities are thousandths: 0.3 / 0.1 is 2.9999999999999996 in floating point.
      copies = Math.min(copies, Math.floor((offer.free[name] ?? 0) / q + 1e-6));
    }
    // A demand of nothing fits without bound: no cap.
    if (!Number.isFinite(copies)) return Number.POSITIVE_INFINITY;
    total += copies;
  }
  return total;
}

function sumOf(list: readonly Quantities[]): Quantities {
  const sum: Record<string, number> = {};
  for (const q of list) for (const [name, v] of Object.entries(q)) sum[name] = (sum[name] ?? 0) + v;
  return sum;
}

function orderKeys(
  entries: readonly QueueEntry[],
  agingMs: number,
  nowMs: number,
  capacities: readonly Quantities[],
): string[] {
  const clusterCapacity = sumOf(capacities);
  if (Object.keys(clusterCapacity).length === 0) return entries.map((e) => e.key);
  return planOrder(entries, { nowMs, agingMs, clusterCapacity, agentCapacities: [] });
}

/** `20261206T103055-3`: sortable, readable, unique per job (the sequence). */
function runIdOf(nowMs: number, seq: number): string {
  const iso = new Date(nowMs).toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}t${iso.slice(11, 19).replaceAll(':', '')}-${seq}`;
}

/** Whether some index of the run is still waiting for its first launch (Metronome's maxLaunchDelay). */
function hasNeverLaunched(run: Run): boolean {
  for (const i of run.waiting) if ((run.indices[i]?.launches ?? 0) === 0) return true;
  return false;
}

// What the REST API returns: Metronome's shapes where it has one (a job definition with `id`,
// `labels`, `run`; a run with `id`, `jobId`, `status`, `createdAt`, `completedAt`, `tasks`; a
// schedule with `cron`, `timezone`, `concurrencyPolicy`, `nextRunAt`), plus the array's counts.
import type { JobRecord, JobsCore, Run } from './core.js';
import type { IndexRecord } from './index-state.js';
import type { WaitReason } from './queue.js';
import type { ScheduleSpec } from './spec.js';

export function jobView(record: JobRecord, core: JobsCore, embed: ReadonlySet<string>): unknown {
  const runs = core.runsOf(record.spec.id);
  return {
    ...record.spec,
    createdAt: iso(record.createdAtMs),
    ...(embed.has('schedules')
      ? { schedules: record.schedules.map((s) => scheduleView(record.spec.id, s, core)) }
      : {}),
    ...(embed.has('activeRuns')
      ? {
          activeRuns: runs
            .filter((r) => r.meta.status === 'INITIAL' || r.meta.status === 'ACTIVE')
            .map((r) => runView(r, core)),
        }
      : {}),
    ...(embed.has('history') ? { history: historyView(record, runs) } : {}),
    ...(embed.has('historySummary') ? { historySummary: historySummaryView(record) } : {}),
    ...(embed.has('latestRun') && runs.length > 0
      ? { latestRun: runView(runs[runs.length - 1] as Run, core) }
      : {}),
  };
}

/** Metronome's `historySummary`: the counts and times of `history` without the runs. */
function historySummaryView(record: JobRecord) {
  const counts = record.finished;
  return {
    successCount: counts?.successCount ?? 0,
    failureCount: counts?.failureCount ?? 0,
    lastSuccessAt: counts?.lastSuccessAtMs !== undefined ? iso(counts.lastSuccessAtMs) : null,
    lastFailureAt: counts?.lastFailureAtMs !== undefined ? iso(counts.lastFailureAtMs) : null,
  };
}

/**
 * Metronome's `history`: counts and times since the job was created, and the finished runs
 * still kept (at most 20 per job, fewer by a schedule's history limits).
 */
function historyView(record: JobRecord, runs: readonly Run[]): unknown {
  const finishedRun = (r: Run) => ({
    id: r.meta.id,
    createdAt: iso(r.meta.createdAtMs),
    finishedAt: iso(r.meta.finishedAtMs ?? r.meta.createdAtMs),
  });
  return {
    ...historySummaryView(record),
    successfulFinishedRuns: runs.filter((r) => r.meta.status === 'SUCCESS').map(finishedRun),
    failedFinishedRuns: runs.filter((r) => r.meta.status === 'FAILED').map(finishedRun),
  };
}

export interface RunCounts {
  readonly completions: number;
  readonly succeeded: number;
  readonly running: number;
  readonly queued: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly retries: number;
  /** Tasks whose agent the master reports unreachable (replaced after disconnect.lostAfterSeconds). */
  readonly unreachable: number;
  /** Launches that replaced such tasks (not retries). */
  readonly replacements: number;
}

export function runCounts(run: Run): RunCounts {
  return {
    completions: run.indices.length,
    succeeded: run.succeeded,
    running: run.active,
    queued: run.waiting.size,
    failed: run.failed,
    cancelled: run.cancelled,
    retries: run.retries,
    unreachable: run.unreachable.size,
    replacements: run.replacements,
  };
}

export function runView(run: Run, core: JobsCore, nowMs = Date.now()): unknown {
  const meta = run.meta;
  const isWaiting = meta.status === 'INITIAL' || (meta.status === 'ACTIVE' && run.waiting.size > 0);
  return {
    id: meta.id,
    jobId: meta.jobId,
    status: meta.stopReason !== undefined ? 'STOPPING' : meta.status,
    createdAt: iso(meta.createdAtMs),
    ...(meta.activatedAtMs !== undefined ? { startedAt: iso(meta.activatedAtMs) } : {}),
    ...(meta.finishedAtMs !== undefined ? { completedAt: iso(meta.finishedAtMs) } : {}),
    ...(meta.reason !== undefined ? { reason: meta.reason } : {}),
    ...(meta.stopReason !== undefined ? { stopReason: meta.stopReason } : {}),
    ...(meta.scheduleId !== undefined ? { scheduleId: meta.scheduleId } : {}),
    ...runCounts(run),
    ...(isWaiting ? { waiting: waitingText(run, core, nowMs) } : {}),
  };
}

/** Why a run's queued tasks wait, in words (`agora jobs show`). */
export function waitingText(run: Run, core: JobsCore, nowMs: number): string {
  const reason = run.waitReason;
  if (reason?.kind === 'dependencies') return reason.message;
  if (run.meta.status === 'ACTIVE' && run.active >= run.meta.spec.parallelism)
    return `at its parallelism (${run.meta.spec.parallelism} running)`;
  if (run.waiting.size > 0 && isAllInBackoff(run, nowMs))
    return 'retries waiting out their backoff';
  if (reason !== undefined) return describe(reason);
  const position = core.queuePosition(run, nowMs);
  if (position !== undefined && position > 0)
    return `behind ${position} job${position === 1 ? '' : 's'} under the priority rule`;
  return 'waiting for offers';
}

/** Whether every waiting index waits out a backoff; stops at the first that does not. */
function isAllInBackoff(run: Run, nowMs: number): boolean {
  for (const i of run.waiting) if ((run.indices[i]?.notBeforeMs ?? 0) <= nowMs) return false;
  return true;
}

function describe(reason: WaitReason): string {
  switch (reason.kind) {
    case 'behind':
      return `behind ${reason.ahead} job${reason.ahead === 1 ? '' : 's'} under the priority rule (a job ahead waits for room)`;
    case 'no-offer-fits':
      return 'no offer big enough (the cluster is full; it runs as tasks end)';
    case 'never-fits':
      return 'no agent is big enough for one task';
    case 'constraints':
      return 'no agent matches its placement constraints';
  }
}

export function taskViews(run: Run, filter: string, offset: number, limit: number): unknown[] {
  const rows: unknown[] = [];
  let skipped = 0;
  for (const [index, record] of run.indices.entries()) {
    if (filter !== 'all' && record.phase !== filter) continue;
    if (skipped++ < offset) continue;
    if (rows.length >= limit) break;
    rows.push(taskView(index, record));
  }
  return rows;
}

function taskView(index: number, record: IndexRecord): unknown {
  return {
    index,
    status: record.phase,
    attempts: record.launches,
    failures: record.failures,
    ...(record.taskId !== undefined ? { id: record.taskId } : {}),
    ...(record.agentId !== undefined ? { agentId: record.agentId } : {}),
    ...(record.startedAtMs !== undefined ? { startedAt: iso(record.startedAtMs) } : {}),
    ...(record.finishedAtMs !== undefined ? { completedAt: iso(record.finishedAtMs) } : {}),
    ...(record.message !== undefined ? { message: record.message } : {}),
    ...(record.unreachableSinceMs !== undefined
      ? { unreachableSince: iso(record.unreachableSinceMs) }
      : {}),
    ...(record.replacements !== undefined ? { replacements: record.replacements } : {}),
    ...(record.superseded !== undefined && record.superseded.length > 0
      ? { replaced: record.superseded.map((t) => t.taskId) }
      : {}),
  };
}

export function scheduleView(jobId: string, schedule: ScheduleSpec, core: JobsCore): unknown {
  const state = core.scheduleState(jobId, schedule.id);
  return {
    ...schedule,
    ...(state?.nextFireMs !== undefined ? { nextRunAt: iso(state.nextFireMs) } : {}),
    ...(state?.lastFireMs !== undefined ? { lastRunAt: iso(state.lastFireMs) } : {}),
    skipped: state?.skipped ?? 0,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

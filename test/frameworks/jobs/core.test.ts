import assert from 'node:assert/strict';
import { test } from 'node:test';
import { copiesThatFit, JobsCore } from '../../../src/frameworks/jobs/core.js';
import {
  type JobSpec,
  parseJobSpec,
  parseScheduleSpec,
} from '../../../src/frameworks/jobs/spec.js';
import { runCounts } from '../../../src/frameworks/jobs/views.js';
import { mulberry32 } from '../../../src/sim/index.js';

function job(input: Record<string, unknown>): JobSpec {
  const parsed = parseJobSpec({ run: { cmd: 'true', cpus: 1, mem: 10 }, ...input });
  if (parsed.kind !== 'ok') throw new Error(`${parsed.field}: ${parsed.message}`);
  return parsed.value;
}

const offer = (
  id: string,
  cpus: number,
  mem = 1000,
  attributes: Record<string, string> = {},
  agentId = `agent-${id}`,
) => ({
  offerId: id,
  agentId,
  agentUrl: 'http://127.0.0.1:1',
  free: { cpus, mem },
  attributes,
  role: '*',
});

/** A core whose writes are kept, as the store would, so it can be restored. */
function bed() {
  const store = new Map<string, unknown>();
  let core = new JobsCore({ agingMs: 10_000 });
  const persist = () => {
    for (const w of core.drainWrites())
      if (w.value === undefined) store.delete(w.key);
      else store.set(w.key, structuredClone(w.value));
  };
  return {
    get core() {
      return core;
    },
    persist,
    restart() {
      persist();
      core = JobsCore.restore(store, { agingMs: 10_000 });
    },
  };
}

test('an array launches within its parallelism and succeeds when every index has', () => {
  const { core } = bed();
  core.putJob(job({ id: 'arr', completions: 5, parallelism: 2 }), 0, true);
  const run = core.startRun('arr', 0);
  assert.equal(run.meta.status, 'ACTIVE');
  const first = core.offers([offer('o1', 8)], 1);
  assert.deepEqual(
    first.flatMap((l) => l.tasks.map((t) => t.index)),
    [0, 1],
  );
  assert.equal(core.offers([offer('o2', 8)], 2).length, 0, 'parallelism 2 is full');
  for (const task of first[0]?.tasks ?? []) core.update(task.taskId, 'TASK_FINISHED', undefined, 3);
  const second = core.offers([offer('o3', 8)], 4).flatMap((l) => l.tasks);
  assert.deepEqual(
    second.map((t) => t.index),
    [2, 3],
  );
  for (const task of second) core.update(task.taskId, 'TASK_FINISHED', undefined, 5);
  const last = core.offers([offer('o4', 8)], 6).flatMap((l) => l.tasks);
  assert.equal(core.hasLaunchable(6), false);
  for (const task of last) core.update(task.taskId, 'TASK_FINISHED', undefined, 7);
  assert.equal(run.meta.status, 'SUCCESS');
  assert.equal(run.succeeded, 5);
});

test('a failed index is retried after its backoff, and fails the run when out of retries', () => {
  const { core } = bed();
  core.putJob(job({ id: 'r', maxRetries: 1, backoffSeconds: 2 }), 0, true);
  const run = core.startRun('r', 0);
  const [launch] = core.offers([offer('o1', 4)], 0);
  const first = launch?.tasks[0];
  assert.ok(first !== undefined);
  core.update(first.taskId, 'TASK_RUNNING', undefined, 1);
  core.update(first.taskId, 'TASK_FAILED', 'exit 1', 10);
  assert.equal(run.retries, 1);
  assert.equal(core.offers([offer('o2', 4)], 1_500).length, 0, 'still in its 2 s backoff');
  assert.equal(core.nextWakeMs(), 2_010);
  const [again] = core.offers([offer('o3', 4)], 2_010);
  const second = again?.tasks[0];
  assert.ok(second !== undefined && second.taskId !== first.taskId);
  core.update(first.taskId, 'TASK_FINISHED', undefined, 2_020); // a stale id changes nothing
  assert.equal(run.succeeded, 0);
  core.update(second.taskId, 'TASK_FAILED', 'exit 1', 3_000);
  assert.equal(run.meta.status, 'FAILED');
  assert.match(run.meta.reason ?? '', /index 0 failed after 2 attempts: TASK_FAILED: exit 1/);
});

test('a task dropped before it ran is launched again without spending a retry', () => {
  const { core } = bed();
  core.putJob(job({ id: 'd', maxRetries: 0 }), 0, true);
  const run = core.startRun('d', 0);
  const task = core.offers([offer('o1', 4)], 0)[0]?.tasks[0];
  assert.ok(task !== undefined);
  core.update(task.taskId, 'TASK_DROPPED', undefined, 1);
  assert.equal(run.meta.status, 'ACTIVE');
  assert.equal(run.retries, 0);
  assert.equal(core.offers([offer('o2', 4)], 2).length, 1);
});

test('small jobs pass a big one submitted first, until aging puts the big one first', () => {
  const { core } = bed();
  const on = (id: string, cpus: number) => offer(id, cpus, 1000, {}, 'the-agent');
  core.putJob(job({ id: 'big', run: { cmd: 'x', cpus: 4, mem: 10 } }), 0, true);
  core.putJob(job({ id: 'small', run: { cmd: 'x', cpus: 1, mem: 10 }, completions: 4 }), 0, true);
  const big = core.startRun('big', 0);
  core.offers([on('o0', 1)], 0); // the agent is busy: a 1-cpu offer teaches only its name
  core.offers([on('o1', 4)], 0); // now it is known to hold 4 cpus
  const bigTask = big.indices[0]?.taskId;
  assert.ok(bigTask !== undefined);
  core.update(bigTask, 'TASK_FAILED', 'again', 0);
  core.startRun('small', 1_000);
  // At 2 s: the small job (share 1/4, p = 4·1.1) goes before the big one (share 1, p = 1.2).
  const early = core.offers([on('o2', 4)], 2_000).flatMap((l) => l.tasks);
  assert.deepEqual(
    early.map((t) => t.run.jobId),
    ['small', 'small', 'small', 'small'],
  );
  for (const t of early) core.update(t.taskId, 'TASK_FINISHED', undefined, 3_000);
  // At 40 s (τ = 10 s) the big one (p = 5) outranks a fresh small job (p = 4) and blocks it
  // while no offer holds a whole agent.
  core.startRun('small', 40_000);
  const partial = core.offers([on('o3', 3)], 40_000).flatMap((l) => l.tasks);
  assert.deepEqual(partial, [], 'the small ones wait behind the big one');
  const later = core.offers([on('o4', 4)], 40_100).flatMap((l) => l.tasks);
  assert.deepEqual(
    later.map((t) => t.run.jobId),
    ['big'],
  );
});

test('constraints keep tasks off agents without the attribute', () => {
  const { core } = bed();
  core.putJob(job({ id: 'c', completions: 2, placement: { constraints: ['rack:r1'] } }), 0, true);
  core.startRun('c', 0);
  const launches = core.offers(
    [offer('a', 4, 100, { rack: 'r2' }), offer('b', 4, 100, { rack: 'r1' })],
    0,
  );
  assert.deepEqual(
    launches.map((l) => l.offerId),
    ['b'],
  );
});

test('a restored core keeps succeeded indices, lists launched ones to reconcile, and loses none', () => {
  const b = bed();
  b.core.putJob(job({ id: 'k', completions: 4, run: { cmd: 'x', cpus: 1, mem: 1 } }), 0, true);
  const runId = b.core.startRun('k', 0).meta.id;
  const tasks = b.core.offers([offer('o1', 3)], 1).flatMap((l) => l.tasks);
  assert.equal(tasks.length, 3);
  b.core.update(tasks[0]?.taskId ?? '', 'TASK_FINISHED', undefined, 2);
  b.restart();
  const run = b.core.getRun('k', runId);
  assert.ok(run !== undefined);
  assert.equal(run.succeeded, 1);
  assert.deepEqual(
    b.core.activeTasks().map((t) => t.taskId),
    tasks.slice(1).map((t) => t.taskId),
  );
  // The master's answers to reconciliation: one finished while the framework was away, one
  // never launched (its ACCEPT was lost with the framework): GONE, its agent does not know it.
  b.core.update(tasks[1]?.taskId ?? '', 'TASK_FINISHED', undefined, 3);
  b.core.update(
    tasks[2]?.taskId ?? '',
    'TASK_GONE',
    'Reconciliation: Task is unknown to the agent',
    3,
  );
  assert.equal(run.retries, 0);
  const relaunched = b.core.offers([offer('o2', 4)], 4).flatMap((l) => l.tasks);
  assert.deepEqual(relaunched.map((t) => t.index).sort(), [2, 3]);
  for (const t of relaunched) b.core.update(t.taskId, 'TASK_FINISHED', undefined, 5);
  assert.equal(run.meta.status, 'SUCCESS');
});

test('schedules: FORBID skips while a run is active, REPLACE stops it, late fires are skipped', () => {
  const { core } = bed();
  core.putJob(job({ id: 's' }), 0, true);
  const schedule = (policy: string) => {
    const parsed = parseScheduleSpec({
      id: 'm',
      cron: '* * * * *',
      concurrencyPolicy: policy,
      startingDeadlineSeconds: 30,
    });
    if (parsed.kind !== 'ok') throw new Error(parsed.message);
    return parsed.value;
  };
  core.putSchedule('s', schedule('FORBID'), 0, true);
  assert.equal(core.scheduleState('s', 'm')?.nextFireMs, 60_000);
  core.tick(60_000);
  assert.equal(core.runsOf('s').length, 1);
  core.tick(120_000);
  assert.equal(core.runsOf('s').length, 1);
  assert.equal(core.scheduleState('s', 'm')?.skipped, 1);
  core.putSchedule('s', schedule('REPLACE'), 130_000, false);
  core.tick(180_000);
  const [first, second] = core.runsOf('s');
  assert.equal(first?.meta.status, 'FAILED');
  assert.match(first?.meta.reason ?? '', /replaced/);
  assert.equal(second?.meta.status, 'ACTIVE');
  core.tick(300_000); // 240 s was due; 60 s late is past the 30 s starting deadline
  assert.equal(core.runsOf('s').length, 2);
  assert.equal(core.scheduleState('s', 'm')?.skipped, 2);
});

// ---- tasks on unreachable agents (#15; spec.ts's `disconnect`) ----

/** A running one-index job on agent-a, its task id, and its run. */
function runningOnA(
  b: ReturnType<typeof bed>,
  disconnect: Record<string, unknown>,
  maxRetries = 0,
) {
  b.core.putJob(job({ id: 'edge', maxRetries, disconnect }), 0, true);
  const run = b.core.startRun('edge', 0);
  const task = b.core.offers([offer('o1', 4, 1000, {}, 'agent-a')], 0)[0]?.tasks[0];
  assert.ok(task !== undefined);
  b.core.update(task.taskId, 'TASK_RUNNING', undefined, 1);
  return { run, taskId: task.taskId };
}

test('an unreachable task holds its index until lostAfterSeconds, then is replaced without spending a retry', () => {
  const b = bed();
  const { run, taskId } = runningOnA(b, { lostAfterSeconds: 60 });
  b.core.update(taskId, 'TASK_UNREACHABLE', 'agent partitioned', 1_000);
  assert.equal(run.unreachable.size, 1);
  assert.equal(b.core.nextWakeMs(), 61_000, 'woken when the limit passes');
  b.core.tick(60_999);
  assert.equal(b.core.offers([offer('o2', 4, 1000, {}, 'agent-b')], 60_999).length, 0, 'not yet');
  b.core.tick(61_000);
  const replacement = b.core.offers([offer('o3', 4, 1000, {}, 'agent-b')], 61_000)[0]?.tasks[0];
  assert.ok(replacement !== undefined, 'replaced once the limit passed');
  assert.notEqual(replacement.taskId, taskId);
  assert.equal(run.retries, 0, 'maxRetries 0 and still replaced: a lost link is not a failure');
  assert.equal(b.core.indexRecord(run, 0)?.replacements, 1);
  b.core.update(replacement.taskId, 'TASK_RUNNING', undefined, 62_000);
  // The agent comes back: its old task is killed, the replacement keeps the index.
  b.core.update(taskId, 'TASK_RUNNING', undefined, 70_000);
  assert.deepEqual(b.core.drainKills(), [{ taskId, agentId: 'agent-a' }]);
  assert.equal(b.core.indexRecord(run, 0)?.taskId, replacement.taskId);
  // Its TASK_KILLED spends nothing and forgets it.
  b.core.update(taskId, 'TASK_KILLED', undefined, 71_000);
  assert.equal(run.retries, 0);
  assert.equal(b.core.indexRecord(run, 0)?.superseded?.length, 0);
  b.core.update(replacement.taskId, 'TASK_FINISHED', undefined, 80_000);
  assert.equal(run.meta.status, 'SUCCESS');
});

test('a task back from an unreachable agent before its limit just goes on', () => {
  const b = bed();
  const { run, taskId } = runningOnA(b, { lostAfterSeconds: 60 });
  b.core.update(taskId, 'TASK_UNREACHABLE', undefined, 1_000);
  b.core.update(taskId, 'TASK_RUNNING', undefined, 30_000);
  assert.equal(run.unreachable.size, 0);
  b.core.tick(100_000);
  assert.equal(b.core.offers([offer('o2', 4, 1000, {}, 'agent-b')], 100_000).length, 0);
  assert.equal(b.core.indexRecord(run, 0)?.taskId, taskId);
});

test('a replaced task whose agent returns before the replacement launched is adopted', () => {
  const b = bed();
  const { run, taskId } = runningOnA(b, { lostAfterSeconds: 10 });
  b.core.update(taskId, 'TASK_UNREACHABLE', undefined, 1_000);
  b.core.tick(11_000);
  assert.equal(b.core.indexRecord(run, 0)?.phase, 'waiting');
  // No offer came; the agent is back with the task running.
  b.core.update(taskId, 'TASK_RUNNING', undefined, 12_000);
  assert.deepEqual(b.core.drainKills(), []);
  const record = b.core.indexRecord(run, 0);
  assert.equal(record?.phase, 'running');
  assert.equal(record?.taskId, taskId);
  assert.equal(record?.agentId, 'agent-a');
  assert.equal(b.core.hasLaunchable(12_000), false);
  b.core.update(taskId, 'TASK_FINISHED', undefined, 13_000);
  assert.equal(run.meta.status, 'SUCCESS');
});

test('a replaced task that finished while unreachable completes its index; the replacement is killed', () => {
  const b = bed();
  const { run, taskId } = runningOnA(b, { lostAfterSeconds: 10 });
  b.core.update(taskId, 'TASK_UNREACHABLE', undefined, 1_000);
  b.core.tick(11_000);
  const replacement = b.core.offers([offer('o2', 4, 1000, {}, 'agent-b')], 11_000)[0]?.tasks[0];
  assert.ok(replacement !== undefined);
  b.core.update(taskId, 'TASK_FINISHED', undefined, 12_000);
  assert.equal(run.meta.status, 'SUCCESS');
  assert.equal(b.core.indexRecord(run, 0)?.taskId, taskId);
  assert.deepEqual(b.core.drainKills(), [{ taskId: replacement.taskId, agentId: 'agent-b' }]);
  // If the replacement still reports running later, it is killed again, not counted.
  b.core.update(replacement.taskId, 'TASK_RUNNING', undefined, 13_000);
  assert.deepEqual(b.core.drainKills(), [{ taskId: replacement.taskId, agentId: 'agent-b' }]);
  assert.equal(run.meta.status, 'SUCCESS');
});

test('with replace: false an unreachable task keeps its index however long', () => {
  const b = bed();
  const { run, taskId } = runningOnA(b, { lostAfterSeconds: 10, replace: false });
  b.core.update(taskId, 'TASK_UNREACHABLE', undefined, 1_000);
  assert.equal(b.core.nextWakeMs(), undefined);
  b.core.tick(10_000_000);
  assert.equal(b.core.offers([offer('o2', 4, 1000, {}, 'agent-b')], 10_000_000).length, 0);
  assert.equal(b.core.indexRecord(run, 0)?.phase, 'running');
});

test('a restarted core keeps unreachable and replaced tasks, and reconciles the replaced ones', () => {
  const b = bed();
  const { run, taskId } = runningOnA(b, { lostAfterSeconds: 10 });
  b.core.update(taskId, 'TASK_UNREACHABLE', undefined, 1_000);
  b.restart();
  const restored = b.core.getRun('edge', run.meta.id);
  assert.equal(restored?.unreachable.size, 1);
  b.core.tick(11_000);
  const replacement = b.core.offers([offer('o2', 4, 1000, {}, 'agent-b')], 11_000)[0]?.tasks[0];
  assert.ok(replacement !== undefined);
  b.restart();
  assert.deepEqual(
    b.core
      .activeTasks()
      .map((t) => t.taskId)
      .sort(),
    [replacement.taskId, taskId].sort(),
  );
  b.core.update(taskId, 'TASK_RUNNING', undefined, 12_000);
  assert.deepEqual(b.core.drainKills(), [{ taskId, agentId: 'agent-a' }]);
});

test('stopping a run kills its replaced tasks too', () => {
  const b = bed();
  const { run, taskId } = runningOnA(b, { lostAfterSeconds: 10 });
  b.core.update(taskId, 'TASK_UNREACHABLE', undefined, 1_000);
  b.core.tick(11_000);
  b.core.stopRun('edge', run.meta.id, 'stopped by the user', 12_000);
  assert.deepEqual(b.core.drainKills(), [{ taskId, agentId: 'agent-a' }]);
  assert.equal(run.meta.status, 'FAILED');
});

/** The run's counts by a walk over its indices: what the kept counters must equal. */
function walkedCounts(run: ReturnType<JobsCore['startRun']>) {
  let failed = 0;
  let cancelled = 0;
  let replacements = 0;
  for (const record of run.indices) {
    if (record.phase === 'failed') failed++;
    if (record.phase === 'cancelled') cancelled++;
    replacements += record.replacements ?? 0;
  }
  return { failed, cancelled, replacements };
}

test('a run keeps its failed, cancelled and replaced counts as a walk of its indices finds them', () => {
  const seen = { failed: 0, cancelled: 0, replacements: 0 };
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = mulberry32(seed);
    const b = bed();
    b.core.putJob(
      job({
        id: 'c',
        completions: 40,
        maxRetries: 1,
        backoffSeconds: 1,
        disconnect: { lostAfterSeconds: 5 },
      }),
      0,
      true,
    );
    const run = b.core.startRun('c', 0);
    const live = new Map<string, boolean>();
    const states = [
      'TASK_RUNNING',
      'TASK_FINISHED',
      'TASK_FAILED',
      'TASK_UNREACHABLE',
      'TASK_DROPPED',
    ] as const;
    for (let step = 1; step <= 300; step++) {
      const nowMs = step * 1_000;
      b.core.tick(nowMs);
      for (const l of b.core.offers([offer(`o${step}`, 4, 1000, {}, `agent-${step % 3}`)], nowMs))
        for (const t of l.tasks) live.set(t.taskId, true);
      const ids = [...live.keys()];
      const id = ids[Math.floor(random() * ids.length)];
      const state = states[Math.floor(random() * states.length)];
      if (id !== undefined && state !== undefined) b.core.update(id, state, undefined, nowMs);
      if (step === 250) b.core.stopRun('c', run.meta.id, 'stopped by the test', nowMs);
      const counts = runCounts(run);
      assert.deepEqual(
        { failed: counts.failed, cancelled: counts.cancelled, replacements: counts.replacements },
        walkedCounts(run),
        `seed ${seed}, step ${step}`,
      );
      seen.failed = Math.max(seen.failed, counts.failed);
      seen.cancelled = Math.max(seen.cancelled, counts.cancelled);
      seen.replacements = Math.max(seen.replacements, counts.replacements);
    }
    b.restart();
    const restored = b.core.getRun('c', run.meta.id);
    assert.ok(restored !== undefined);
    const counts = runCounts(restored);
    assert.deepEqual(
      { failed: counts.failed, cancelled: counts.cancelled, replacements: counts.replacements },
      walkedCounts(restored),
    );
  }
  // The walk went through every kind of count.
  assert.ok(seen.failed > 0 && seen.cancelled > 0 && seen.replacements > 0, JSON.stringify(seen));
});

test('copiesThatFit counts what each offer could hold, in thousandths', () => {
  const slot = (cpus: number, mem: number) => ({ ...offer('x', cpus, mem) });
  assert.equal(copiesThatFit({ cpus: 0.1, mem: 32 }, [slot(0.3, 1000), slot(8, 64)]), 3 + 2);
  assert.equal(copiesThatFit({ cpus: 0.1, mem: 32 }, []), 0);
  assert.equal(copiesThatFit({ cpus: 0 }, [slot(1, 1)]), Number.POSITIVE_INFINITY);
});

test('a big array on a full agent launches what the offer holds and waits for room', () => {
  const { core } = bed();
  core.putJob(
    job({ id: 'big', completions: 3000, run: { cmd: 'true', cpus: 0.1, mem: 32 } }),
    0,
    true,
  );
  const run = core.startRun('big', 0);
  const launched = core.offers([offer('o1', 8, 8192)], 1).flatMap((l) => l.tasks);
  assert.equal(launched.length, 80);
  assert.equal(run.waitReason?.kind, 'no-offer-fits', 'still seen as waiting for room');
  const next = core.offers([offer('o2', 0.25, 8192)], 2).flatMap((l) => l.tasks);
  assert.deepEqual(
    next.map((t) => t.index),
    [80, 81],
  );
});

test("Metronome's run.maxLaunchDelay fails a run whose index has not launched in time, not one that has", () => {
  const { core } = bed();
  const run = { cmd: 'true', cpus: 1, mem: 10, maxLaunchDelay: 5 };
  core.putJob(job({ id: 'late', run }), 0, true);
  core.putJob(job({ id: 'prompt', run }), 0, true);
  const late = core.startRun('late', 0);
  const prompt = core.startRun('prompt', 0);
  assert.equal(core.nextWakeMs(), 5_000);
  core.tick(4_999);
  assert.equal(late.meta.status, 'ACTIVE');
  // Only 'prompt' fits on the agent (4 cpus for one task of each): it launches, 'late' waits.
  const launched = core.offers([offer('o1', 1)], 1_000).flatMap((l) => l.tasks);
  assert.equal(launched.length, 1);
  const waiting = launched[0]?.taskId.startsWith('late.') ? prompt : late;
  const started = waiting === late ? prompt : late;
  core.update(launched[0]?.taskId ?? '', 'TASK_RUNNING', undefined, 1_100);
  core.tick(5_000);
  assert.match(waiting.meta.stopReason ?? waiting.meta.reason ?? '', /maxLaunchDelay/);
  assert.equal(started.meta.status, 'ACTIVE');
  assert.equal(started.meta.stopReason, undefined);
});

test("Metronome's run.restart NEVER means no retry, and run.placement constrains like placement", () => {
  const { core } = bed();
  core.putJob(
    job({
      id: 'once',
      run: {
        cmd: 'true',
        cpus: 1,
        mem: 10,
        restart: { policy: 'NEVER' },
        placement: { constraints: [{ attribute: 'rack', operator: 'LIKE', value: 'r[1]' }] },
      },
    }),
    0,
    true,
  );
  const run = core.startRun('once', 0);
  const launches = core.offers(
    [offer('a', 4, 100, { rack: 'r2' }), offer('b', 4, 100, { rack: 'r1' })],
    0,
  );
  assert.deepEqual(
    launches.map((l) => l.offerId),
    ['b'],
  );
  core.update(launches[0]?.tasks[0]?.taskId ?? '', 'TASK_FAILED', 'exit 1', 1);
  assert.equal(run.meta.status, 'FAILED');
});

// The agent's task runs on a manual clock over fake containers and probes:
// kill policies and repeated KILLs, a health check that kills its task, and
// check results held back from a framework that does not acknowledge.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Checkpoint } from '../../src/agent/checkpoint.js';
import type { Container, LaunchSpec, Termination } from '../../src/containerizer/index.js';
import { agentId, frameworkId, taskId } from '../../src/wire/index.js';
import { FakeContainer, FakeContainerizer, taskRunsBed } from './task-runs-bed.js';

const seconds = (s: number) => ({ grace_period: { nanoseconds: s * 1e9 } });

test('task runs kill with SIGTERM, then SIGKILL after the kill policy grace period', async (t) => {
  const bed = taskRunsBed(t);
  const container = await bed.launch('t', { kill_policy: seconds(2) });
  assert.ok(container !== undefined);
  bed.runs.kill('F1', 't');
  assert.deepEqual(container.signals, ['SIGTERM']);
  bed.clock.advance(1999);
  assert.deepEqual(container.signals, ['SIGTERM']);
  bed.clock.advance(1);
  assert.deepEqual(container.signals, ['SIGTERM', 'SIGKILL']);
  container.end({ exitCode: null, signal: 'SIGKILL' });
  await bed.settle();
  assert.deepEqual(bed.states('t'), [
    'TASK_STARTING',
    'TASK_RUNNING',
    'TASK_KILLING',
    'TASK_KILLED',
  ]);
});

test('task runs take the KILL grace period over the policy, and 3 s without either', async (t) => {
  const bed = taskRunsBed(t);
  const overridden = await bed.launch('overridden', { kill_policy: seconds(30) });
  const plain = await bed.launch('plain');
  bed.runs.kill('F1', 'overridden', 0.5e9);
  bed.runs.kill('F1', 'plain');
  bed.clock.advance(500);
  assert.deepEqual(overridden?.signals, ['SIGTERM', 'SIGKILL']);
  assert.deepEqual(plain?.signals, ['SIGTERM']);
  bed.clock.advance(2500);
  assert.deepEqual(plain?.signals, ['SIGTERM', 'SIGKILL']);
});

test('task runs let a repeated KILL bring SIGKILL forward but never put it off', async (t) => {
  const bed = taskRunsBed(t);
  const container = await bed.launch('t', { kill_policy: seconds(10) });
  bed.runs.kill('F1', 't');
  bed.clock.advance(2000);
  bed.runs.kill('F1', 't', 20e9); // longer: no change
  bed.runs.kill('F1', 't', 5e9); // 5 s from the first SIGTERM, 3 s from now
  bed.clock.advance(2999);
  assert.deepEqual(container?.signals, ['SIGTERM']);
  bed.clock.advance(1);
  assert.deepEqual(container?.signals, ['SIGTERM', 'SIGKILL']);
  bed.runs.kill('F1', 't', 0); // already past: SIGKILL again at once, harmless
  bed.clock.advance(0);
  await bed.settle();
  assert.equal(
    bed.sent.filter((s) => s.state === 'TASK_KILLING').length,
    1,
    'one TASK_KILLING however many KILLs',
  );
});

test('task runs count a shortened kill from the first SIGTERM whatever the wall clock does', async (t) => {
  const bed = taskRunsBed(t);
  const container = await bed.launch('t', { kill_policy: seconds(10) });
  bed.runs.kill('F1', 't');
  bed.clock.advance(2000);
  // Set back an hour (NTP, an operator): on the wall clock SIGKILL would wait 5 s more than that.
  bed.clock.jumpWall(-3_600_000);
  bed.runs.kill('F1', 't', 5e9); // 5 s from the first SIGTERM, 3 s from now
  bed.clock.advance(2999);
  assert.deepEqual(container?.signals, ['SIGTERM']);
  bed.clock.advance(1);
  assert.deepEqual(container?.signals, ['SIGTERM', 'SIGKILL']);
});

test('task runs kill a task that fails its health check and end it healthy: false', async (t) => {
  const bed = taskRunsBed(t);
  const container = await bed.launch('hc', {
    kill_policy: seconds(1),
    health_check: {
      type: 'COMMAND',
      command: { value: 'false' },
      delay_seconds: 0,
      interval_seconds: 1,
      grace_period_seconds: 0,
      consecutive_failures: 2,
    },
  });
  assert.ok(container !== undefined);
  for (let i = 0; i < 2; i++) {
    bed.clock.advance(i === 0 ? 0 : 1000);
    const probe = bed.probes.at(-1);
    assert.ok(probe !== undefined, `probe ${i + 1} runs`);
    assert.equal(probe.context.sandbox, container.spec.sandbox, 'in the task sandbox');
    assert.equal(probe.context.environment.MESOS_TASK_ID, 'hc', 'with the task environment');
    probe.resolve({ kind: 'result', status: { type: 'COMMAND', command: { exit_code: 1 } } });
    await bed.settle();
  }
  assert.deepEqual(container.signals, ['SIGTERM'], 'killed at the second failure');
  bed.clock.advance(1000);
  assert.deepEqual(container.signals, ['SIGTERM', 'SIGKILL'], 'with the task kill policy');
  bed.clock.advance(60_000);
  assert.equal(bed.probes.length, 2, 'no probe once the kill began');
  container.end({ exitCode: null, signal: 'SIGKILL' });
  await bed.settle();
  await bed.settle();
  assert.deepEqual(bed.states('hc'), [
    'TASK_STARTING',
    'TASK_RUNNING',
    'TASK_RUNNING healthy=false',
    'TASK_RUNNING healthy=false',
    'TASK_KILLING',
    'TASK_KILLED healthy=false',
  ]);
  const unhealthy = bed.sent[2];
  assert.equal(unhealthy?.reason, 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED');
  assert.equal(unhealthy?.source, 'SOURCE_EXECUTOR');
  assert.notEqual(unhealthy?.uuid, bed.sent[1]?.uuid, 'each update its own uuid');
});

test('task runs stop checking a task once it ends', async (t) => {
  const bed = taskRunsBed(t);
  const container = await bed.launch('c', {
    check: { type: 'TCP', tcp: { port: 1 }, delay_seconds: 0, interval_seconds: 1 },
  });
  bed.clock.advance(0);
  assert.equal(bed.probes.length, 1);
  container?.end({ exitCode: 0, signal: null });
  await bed.settle();
  assert.equal(bed.probes[0]?.signal.aborted, true, 'the probe in flight is aborted');
  bed.clock.advance(60_000);
  assert.equal(bed.probes.length, 1);
  await bed.settle();
  assert.deepEqual(bed.states('c'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
  assert.deepEqual(
    bed.sent.map((s) => s.check_status),
    [
      { type: 'TCP', tcp: {} },
      { type: 'TCP', tcp: {} },
      { type: 'TCP', tcp: {} },
    ],
    'every update of a checked task carries a check status',
  );
});

test('task runs hold back check results from a framework that does not acknowledge', async (t) => {
  const bed = taskRunsBed(t, { acknowledge: false });
  await bed.launch('busy', {
    check: {
      type: 'COMMAND',
      command: { command: { value: 'x' } },
      delay_seconds: 0,
      interval_seconds: 1,
    },
  });
  // Each result differs from the last, so each would be an update.
  for (let i = 0; i < 150; i++) {
    bed.clock.advance(i === 0 ? 0 : 1000);
    bed.probes.at(-1)?.resolve({
      kind: 'result',
      status: { type: 'COMMAND', command: { exit_code: i % 2 } },
    });
    await bed.settle();
  }
  assert.equal(bed.updates.queuedCount('F1', 'busy'), 100);
  bed.runs.kill('F1', 'busy');
  assert.equal(bed.updates.queuedCount('F1', 'busy'), 101, 'room left for the task end');
});

test('task runs fetch URIs before the task starts, bounded by its disk', async (t) => {
  const calls: { uris: readonly unknown[]; sandbox: string; maxBytes: number | undefined }[] = [];
  const bed = taskRunsBed(t, {
    fetcher: {
      fetch: async (uris, sandbox, options) => {
        calls.push({ uris, sandbox, maxBytes: options.maxBytes });
      },
    },
  });
  const container = await bed.launch('f', {
    command: { value: 'true', uris: [{ value: '/srv/app.tgz' }] },
    resources: [{ name: 'disk', type: 'SCALAR', scalar: { value: 2 } }],
  });
  assert.deepEqual(calls, [
    {
      uris: [{ value: '/srv/app.tgz' }],
      sandbox: container?.spec.sandbox,
      maxBytes: 2 * 1024 * 1024,
    },
  ]);
  assert.deepEqual(bed.states('f'), ['TASK_STARTING', 'TASK_RUNNING']);
});

test('task runs fail a task whose fetch failed, with the error, and never start it', async (t) => {
  const bed = taskRunsBed(t, {
    fetcher: {
      fetch: async () => {
        throw new Error("Failed to fetch 'http://x/app.tgz': HTTP 404 Not Found");
      },
    },
  });
  const container = await bed.launch('f', {
    command: { value: 'true', uris: [{ value: 'http://x/app.tgz' }] },
  });
  assert.equal(container, undefined, 'no container');
  assert.deepEqual(bed.states('f'), ['TASK_FAILED']);
  const [failed] = bed.sent;
  assert.equal(failed?.source, 'SOURCE_AGENT');
  assert.equal(failed?.reason, 'REASON_CONTAINER_LAUNCH_FAILED');
  assert.match(
    failed?.message ?? '',
    /^Failed to launch container: Failed to fetch all URIs for container '.+': Failed to fetch 'http:\/\/x\/app\.tgz': HTTP 404 Not Found$/,
  );
});

test('task runs kill a task while its URIs are fetched: the fetch stops, the task never starts', async (t) => {
  let fetchSignal: AbortSignal | undefined;
  const bed = taskRunsBed(t, {
    fetcher: {
      fetch: (_uris, _sandbox, options) =>
        new Promise((_resolve, reject) => {
          fetchSignal = options.signal;
          options.signal.addEventListener('abort', () => reject(options.signal.reason));
        }),
    },
  });
  const launching = bed.launch('f', { command: { value: 'true', uris: [{ value: '/x' }] } });
  // The fetch starts once the sandbox is made (in the thread pool).
  const deadline = performance.now() + 5_000;
  while (fetchSignal === undefined && performance.now() < deadline) await bed.settle();
  bed.runs.kill('F1', 'f');
  assert.equal(fetchSignal?.aborted, true);
  assert.equal(await launching, undefined, 'no container');
  assert.deepEqual(bed.states('f'), ['TASK_KILLED']);
  assert.equal(bed.sent[0]?.reason, 'REASON_TASK_KILLED_DURING_LAUNCH');
  assert.equal(bed.sent[0]?.message, 'Killed before delivery to the executor');
});

test('task runs never resend an end the framework acknowledged, even if its records outlive the agent', async (t) => {
  // The records of a retired run go in the background; an agent killed before they are
  // gone left them behind. The restarted agent must not take the end as unacknowledged.
  const workDir = mkdtempSync(join(tmpdir(), 'agora-task-runs-'));
  // Removed once every bed's directories made ahead (thread pool) are: hooks run in the
  // order they were added, so this one waits for the beds made after it.
  const beds: ReturnType<typeof taskRunsBed>[] = [];
  t.after(async () => {
    await Promise.all(beds.map((bed) => bed.settled()));
    rmSync(workDir, { recursive: true, force: true });
  });
  class KilledBeforeRemoval extends Checkpoint {
    override removeInBackground(): Promise<void> {
      return Promise.resolve();
    }
  }
  const first = taskRunsBed(t, { workDir, checkpoint: new KilledBeforeRemoval(workDir) });
  beds.push(first);
  const container = await first.launch('t');
  assert.ok(container !== undefined);
  container.end({ exitCode: 0, signal: null });
  await first.settle();
  assert.deepEqual(first.states('t'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);

  // --recover=reconnect retires it; --recover=cleanup, which kills and reports what it
  // finds of runs that had not ended, must not take it for one either.
  for (const recover of ['reconnect', 'cleanup'] as const) {
    const second = taskRunsBed(t, {
      workDir,
      recover,
      checkpoint: new KilledBeforeRemoval(workDir),
    });
    beds.push(second);
    await second.runs.recover();
    await second.settle();
    assert.deepEqual(second.states('t'), [], `nothing resent (${recover})`);
    assert.equal(second.runs.active.length, 0, `the run is retired, not held (${recover})`);
  }
  const third = taskRunsBed(t, { workDir, checkpoint: new Checkpoint(workDir) });
  beds.push(third);
  await third.runs.recover();
  await third.settle();
  assert.deepEqual(third.states('t'), []);
});

test('task runs report RUNNING for a task whose agent died after the fork, before any update', async (t) => {
  // TASK_STARTING is recorded once the launch is under way: an agent killed in between
  // left the launch's record and a running container, and no update at all.
  const workDir = mkdtempSync(join(tmpdir(), 'agora-task-runs-'));
  // Removed once the bed's directories made ahead (thread pool) are (see the test above).
  let bed: ReturnType<typeof taskRunsBed> | undefined;
  t.after(async () => {
    await bed?.settled();
    rmSync(workDir, { recursive: true, force: true });
  });
  const address = {
    agentIdValue: 'S1',
    frameworkIdValue: 'F1',
    executorIdValue: 't',
    containerIdValue: 'C1',
    taskIdValue: 't',
  };
  const checkpoint = new Checkpoint(workDir);
  checkpoint.launched(
    address,
    { user: 'root', name: 'bed', id: frameworkId('F1') },
    { name: 't', task_id: taskId('t'), agent_id: agentId('S1'), command: { value: 'sleep 100' } },
  );
  const running = new FakeContainer('C1', {} as LaunchSpec);
  class StillRunning extends FakeContainerizer {
    override async recover(): Promise<Map<string, Container | Termination>> {
      return new Map([['C1', running]]);
    }
  }
  bed = taskRunsBed(t, { workDir, checkpoint, containerizer: new StillRunning() });
  await bed.runs.recover();
  await bed.settle();
  assert.deepEqual(bed.states('t'), ['TASK_RUNNING']);
  assert.equal(bed.sent[0]?.container_status?.executor_pid, running.pid);
  running.end({ exitCode: 0, signal: null });
  await bed.settle();
  assert.deepEqual(bed.states('t'), ['TASK_RUNNING', 'TASK_FINISHED']);
});

test('task runs report TASK_STARTING only once the containerizer has told its launcher to fork, not while it prepares', async (t) => {
  // As the Mesos containerizer with a new cgroup: its directories are made (thread pool)
  // before the line to the launcher; a STARTING report in between delayed that line.
  let prepared: () => void = () => undefined;
  const preparing = new Promise<void>((resolve) => {
    prepared = resolve;
  });
  let statesAtLaunching: string[] | undefined;
  class Preparing extends FakeContainerizer {
    override async launch(spec: LaunchSpec): Promise<Container> {
      await preparing;
      statesAtLaunching = bed.states('t');
      spec.onLaunching?.();
      return super.launch(spec);
    }
  }
  const bed = taskRunsBed(t, { containerizer: new Preparing() });
  const launched = bed.launch('t');
  await bed.settle();
  assert.deepEqual(bed.states('t'), [], 'nothing reported while the launch prepares');
  prepared();
  await launched;
  assert.deepEqual(statesAtLaunching, [], 'nor before the launcher is told');
  assert.deepEqual(bed.states('t'), ['TASK_STARTING', 'TASK_RUNNING']);
});

test('task runs still report TASK_STARTING before RUNNING from a containerizer that never says it launched', async (t) => {
  const bed = taskRunsBed(t);
  await bed.launch('t');
  assert.deepEqual(bed.states('t'), ['TASK_STARTING', 'TASK_RUNNING']);
});

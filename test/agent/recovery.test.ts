import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CheckpointedRun, RunAddress } from '../../src/agent/checkpoint.js';
import { readStat } from '../../src/agent/process-identity.js';
import {
  type Observation,
  planRecovery,
  recoverRuns,
  recoveryStatus,
  sandboxPath,
} from '../../src/agent/recovery.js';
import { frameworkId, newStatusUuid, taskId } from '../../src/wire/index.js';
import { descendants, isAlive, waitFor } from '../integration/harness.js';

const ADDRESS: RunAddress = {
  agentIdValue: 'a-S0',
  frameworkIdValue: 'fw-1',
  executorIdValue: 't1',
  containerIdValue: 'c-1',
  taskIdValue: 't1',
};

function run(fields: Partial<CheckpointedRun> = {}): CheckpointedRun {
  return {
    address: ADDRESS,
    frameworkId: frameworkId('fw-1'),
    frameworkInfo: { user: 'u', name: 'f' },
    task: undefined,
    pid: 100,
    startTime: '5000',
    updates: [],
    acknowledged: new Set(),
    terminal: undefined,
    kill: undefined,
    unreadable: [],
    ...fields,
  };
}

const ALIVE: Observation = { isSameBoot: true, pidStartTime: '5000', strays: [] };

test('recovery plan for each state a run can be found in', () => {
  const terminal = {
    task_id: taskId('t1'),
    state: 'TASK_FINISHED' as const,
    uuid: newStatusUuid(),
  };
  const cases: [what: string, r: CheckpointedRun, o: Observation, plan: unknown][] = [
    ['leader alive, same start time', run(), ALIVE, { kind: 'kill', group: 100, pids: [] }],
    [
      'PID recycled: another start time',
      run(),
      { ...ALIVE, pidStartTime: '7777' },
      { kind: 'gone', isRebooted: false },
    ],
    [
      'nothing holds the PID',
      run(),
      { ...ALIVE, pidStartTime: undefined },
      { kind: 'gone', isRebooted: false },
    ],
    [
      'leader gone, offspring left',
      run(),
      { ...ALIVE, pidStartTime: undefined, strays: [301, 302] },
      { kind: 'kill', group: undefined, pids: [301, 302] },
    ],
    [
      'leader alive and offspring elsewhere',
      run(),
      { ...ALIVE, strays: [100, 303] },
      { kind: 'kill', group: 100, pids: [303] },
    ],
    [
      'no PID recorded (crash right after the launch)',
      run({ pid: undefined, startTime: undefined }),
      { ...ALIVE, pidStartTime: undefined, strays: [304] },
      { kind: 'kill', group: undefined, pids: [304] },
    ],
    [
      'PID without its start time is never trusted',
      run({ startTime: undefined }),
      ALIVE,
      { kind: 'gone', isRebooted: false },
    ],
    ['host rebooted', run(), { ...ALIVE, isSameBoot: false }, { kind: 'gone', isRebooted: true }],
    ['ended while the agent lived', run({ terminal }), ALIVE, { kind: 'ended', status: terminal }],
  ];
  for (const [what, r, observed, plan] of cases)
    assert.deepEqual(planRecovery(r, observed), plan, what);
});

test('recovery status is TASK_FAILED from the agent, reason EXECUTOR_TERMINATED, saying why', () => {
  const killed = recoveryStatus(run(), { kind: 'kill', group: 100, pids: [] }, 'a-S1', 12.5);
  assert.equal(killed.state, 'TASK_FAILED');
  assert.equal(killed.source, 'SOURCE_AGENT');
  assert.equal(killed.reason, 'REASON_EXECUTOR_TERMINATED');
  assert.match(killed.message ?? '', /^Agent restarted and killed/);
  assert.equal(killed.agent_id?.value, 'a-S1');
  assert.equal(killed.task_id.value, 't1');
  assert.equal(killed.executor_id?.value, 't1');
  assert.equal(killed.container_status?.container_id?.value, 'c-1');
  assert.equal(killed.timestamp, 12.5);
  const gone = recoveryStatus(run(), { kind: 'gone', isRebooted: false }, 'a-S1', 0);
  assert.match(gone.message ?? '', /found the task's processes gone/);
  const rebooted = recoveryStatus(run(), { kind: 'gone', isRebooted: true }, 'a-S1', 0);
  assert.match(rebooted.message ?? '', /rebooted/);
  assert.notEqual(gone.uuid, rebooted.uuid);
});

/** A task-like process tree: `sh` leading its own group, with a `sleep` child; stopped in t.after. */
async function taskTree(
  t: { after(fn: () => void): void },
  env: NodeJS.ProcessEnv,
): Promise<{ leader: ChildProcess; pid: number; startTime: string; all: () => number[] }> {
  const leader = spawn('/bin/sh', ['-c', 'sleep 1000 & wait'], {
    detached: true,
    env,
    stdio: 'ignore',
  });
  await once(leader, 'spawn');
  const pid = leader.pid ?? -1;
  const seen = new Set<number>([pid]);
  t.after(() => {
    for (const p of seen) if (isAlive(p)) process.kill(p, 'SIGKILL');
  });
  await waitFor('the sleep to start', () => (descendants(pid).length > 0 ? true : undefined));
  for (const p of descendants(pid)) seen.add(p);
  const startTime = readStat(pid)?.startTime;
  assert.ok(startTime !== undefined);
  return { leader, pid, startTime, all: () => [...seen] };
}

function tempWorkDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'agora-recovery-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(sandboxPath(dir, ADDRESS), { recursive: true });
  return dir;
}

test('recoverRuns kills the whole group of a run whose process started when recorded', async (t) => {
  const workDir = tempWorkDir(t);
  const tree = await taskTree(t, process.env);
  const [recovered] = recoverRuns({
    workDir,
    runs: [run({ pid: tree.pid, startTime: tree.startTime })],
    isSameBoot: true,
    agentIdValue: 'a-S1',
    nowSec: 1,
  });
  assert.equal(recovered?.plan.kind, 'kill');
  assert.equal(recovered?.status.state, 'TASK_FAILED');
  assert.equal(recovered?.isNewStatus, true);
  await waitFor('the leader and its child to die', () =>
    tree.all().some(isAlive) ? undefined : true,
  );
});

test('recoverRuns never kills a process that got the recorded PID later', async (t) => {
  const workDir = tempWorkDir(t);
  const stranger = await taskTree(t, process.env);
  const [recovered] = recoverRuns({
    workDir,
    // The recorded process started at another time: this PID was recycled.
    runs: [run({ pid: stranger.pid, startTime: String(Number(stranger.startTime) - 1) })],
    isSameBoot: true,
    agentIdValue: 'a-S1',
    nowSec: 1,
  });
  assert.deepEqual(recovered?.plan, { kind: 'gone', isRebooted: false });
  assert.match(recovered?.status.message ?? '', /gone/);
  for (const pid of stranger.all()) assert.ok(isAlive(pid), `stranger ${pid} untouched`);
});

test('recoverRuns kills what a run left after its leader died, found by its sandbox', async (t) => {
  const workDir = tempWorkDir(t);
  const tree = await taskTree(t, {
    ...process.env,
    MESOS_SANDBOX: sandboxPath(workDir, ADDRESS),
  });
  tree.leader.kill('SIGKILL');
  await once(tree.leader, 'exit');
  const orphans = tree.all().filter((pid) => pid !== tree.pid);
  assert.ok(orphans.length > 0 && orphans.every(isAlive), 'the sleep outlives its shell');
  const [recovered] = recoverRuns({
    workDir,
    runs: [run({ pid: tree.pid, startTime: tree.startTime })],
    isSameBoot: true,
    agentIdValue: 'a-S1',
    nowSec: 1,
  });
  assert.deepEqual(recovered?.plan, { kind: 'kill', group: undefined, pids: orphans });
  await waitFor('the orphaned sleep to die', () => (orphans.some(isAlive) ? undefined : true));
});

test('recoverRuns after a reboot kills nothing and reports the task gone', async (t) => {
  const workDir = tempWorkDir(t);
  const tree = await taskTree(t, process.env);
  const [recovered] = recoverRuns({
    workDir,
    runs: [run({ pid: tree.pid, startTime: tree.startTime })],
    isSameBoot: false,
    agentIdValue: undefined,
    nowSec: 1,
  });
  assert.deepEqual(recovered?.plan, { kind: 'gone', isRebooted: true });
  assert.equal(
    recovered?.status.agent_id?.value,
    'a-S0',
    "the run's own agent id when none is known",
  );
  for (const pid of tree.all()) assert.ok(isAlive(pid));
});

// A task's `limits` (Mesos 1.10) on an ordinary LAUNCH: the agent's cgroups hold the task
// to them, above its requests (CPU quota from limits.cpus, memory limit from limits.mem,
// "Infinity" for none), and the master refuses a limit below its request with TASK_ERROR
// naming the field. They used to be dropped on the way: the task ran to its requests. And a
// custom executor's container sized to the tasks it runs, as they join.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { executorId } from '../../src/wire/index.js';
import { startCluster, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

const hasCgroupsV1 = process.getuid?.() === 0 && existsSync('/sys/fs/cgroup/memory/cgroup.procs');

const resources = (cpus: number, mem: number) => [
  { name: 'cpus', type: 'SCALAR' as const, scalar: { value: cpus } },
  { name: 'mem', type: 'SCALAR' as const, scalar: { value: mem } },
];

/** A command that writes the task's own cgroup limits to `limits` in its sandbox, then waits. */
const REPORT_LIMITS = [
  // The task's cgroup in a controller's hierarchy (mounted alone or with others, as
  // /sys/fs/cgroup/<controller> either way).
  'cg() { awk -F: -v c=$1 \'{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }\' /proc/self/cgroup; }',
  'mem=/sys/fs/cgroup/memory$(cg memory)',
  'cpu=/sys/fs/cgroup/cpu$(cg cpu)',
  'echo "$(cat $cpu/cpu.cfs_quota_us) $(cat $mem/memory.limit_in_bytes)" > limits.tmp',
  'mv limits.tmp limits',
  'while [ ! -e go ]; do sleep 0.05; done',
].join('; ');

test('task limits: the cgroups hold a task to its limits, and a limit below its request is TASK_ERROR', {
  skip: hasCgroupsV1 ? false : 'needs cgroups v1 and root',
}, async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024;disk:1024' });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'limits');
  t.after(() => framework.stop());

  await framework.launch({
    burst: {
      command: { value: REPORT_LIMITS },
      resources: resources(0.1, 32),
      limits: { cpus: 0.5, mem: 96 },
    },
    unbounded: {
      command: { value: REPORT_LIMITS },
      resources: resources(0.1, 32),
      limits: { cpus: 'Infinity', mem: 'Infinity' },
    },
  });
  const sandboxOf = async (taskIdValue: string) => {
    await framework.update(taskIdValue, 'TASK_RUNNING');
    return waitFor(`the sandbox of ${taskIdValue}`, () =>
      sandboxIn(join(cluster.workDir, 'agent-1'), taskIdValue),
    );
  };
  const readLimits = async (taskIdValue: string) => {
    const sandbox = await sandboxOf(taskIdValue);
    const text = await waitFor(`${taskIdValue} to report its limits`, () =>
      existsSync(join(sandbox, 'limits'))
        ? readFileSync(join(sandbox, 'limits'), 'utf8')
        : undefined,
    );
    return { sandbox, text: text.trim() };
  };
  const burst = await readLimits('burst');
  assert.equal(burst.text, `50000 ${96 * 1024 * 1024}`, 'quota of 0.5 cpus, 96 MB of memory');
  const unbounded = await readLimits('unbounded');
  const [quota, memory] = unbounded.text.split(' ');
  assert.equal(quota, '-1', 'no CPU quota');
  assert.ok(Number(memory) > 2 ** 60, `no memory limit: ${memory}`);

  await framework.launch({
    under: { command: { value: 'true' }, resources: resources(0.5, 32), limits: { cpus: 0.25 } },
  });
  const refused = await framework.update('under', 'TASK_ERROR');
  assert.match(refused.message ?? '', /limits\.cpus/);

  for (const { sandbox } of [burst, unbounded]) writeFileSync(join(sandbox, 'go'), '');
  await framework.update('burst', 'TASK_FINISHED');
  await framework.update('unbounded', 'TASK_FINISHED');
});

// Mesos applies a task's limits to its custom executor's container (computeExecutorLimits:
// the task's limit plus the executor's own request). They used to pass the master's checks
// and then be dropped: the executor ran held to its requests.
test("task limits: a custom executor's container is held to its task's limits plus its own", {
  skip: hasCgroupsV1 ? false : 'needs cgroups v1 and root',
}, async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024;disk:1024' });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'executor-limits');
  t.after(() => framework.stop());

  await framework.launch({
    'with-executor': {
      executor: {
        executor_id: executorId('reporter'),
        command: { value: REPORT_LIMITS },
        resources: resources(0.1, 32),
      },
      resources: resources(0.1, 32),
      limits: { cpus: 0.5, mem: 96 },
    },
  });
  const sandbox = await waitFor("the executor's sandbox", () =>
    sandboxIn(join(cluster.workDir, 'agent-1'), 'reporter'),
  );
  const text = await waitFor('the executor to report its limits', () =>
    existsSync(join(sandbox, 'limits')) ? readFileSync(join(sandbox, 'limits'), 'utf8') : undefined,
  );
  assert.equal(
    text.trim(),
    `60000 ${(96 + 32) * 1024 * 1024}`,
    "the task's limits plus the executor's 0.1 cpus and 32 MB",
  );
  writeFileSync(join(sandbox, 'go'), '');
  // The reporter never subscribes: its exit fails the task.
  await framework.update('with-executor', 'TASK_FAILED');
});

// Mesos resizes a custom executor's container as tasks join it and end (the containerizer's
// update): a task joining a running executor was not counted, so the executor's cgroup kept the
// size of its first task and every later task's memory came out of it (an OOM kill waiting).
test("executor resources: a task joining a running custom executor grows its container's cgroup", {
  skip: hasCgroupsV1 ? false : 'needs cgroups v1 and root',
}, async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024;disk:1024' });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'executor-resize');
  t.after(() => framework.stop());
  const executor = {
    executor_id: executorId('holder'),
    command: { value: 'echo $$ > pid.tmp; mv pid.tmp pid; while [ ! -e go ]; do sleep 0.05; done' },
    resources: resources(0.1, 32),
  };
  await framework.launch({ first: { executor, resources: resources(0.1, 32) } });
  const sandbox = await waitFor("the executor's sandbox", () =>
    sandboxIn(join(cluster.workDir, 'agent-1'), 'holder'),
  );
  const pid = await waitFor("the executor's pid", () =>
    existsSync(join(sandbox, 'pid'))
      ? readFileSync(join(sandbox, 'pid'), 'utf8').trim()
      : undefined,
  );
  const size = () => ({
    shares: Number(readFileSync(join(cgroupOf(pid, 'cpu'), 'cpu.shares'), 'utf8')),
    memoryMb:
      Number(readFileSync(join(cgroupOf(pid, 'memory'), 'memory.limit_in_bytes'), 'utf8')) /
      2 ** 20,
  });
  assert.deepEqual(size(), { shares: 205, memoryMb: 64 }, 'the executor and its first task');
  await framework.launch({ second: { executor, resources: resources(0.5, 256) } });
  await waitFor('the container to grow by the second task', () => {
    const now = size();
    return now.shares === 717 && now.memoryMb === 320 ? now : undefined;
  });
  writeFileSync(join(sandbox, 'go'), '');
  // The holder never subscribes: its exit fails both tasks.
  await framework.update('first', 'TASK_FAILED');
  await framework.update('second', 'TASK_FAILED');
});

/** The cgroup directory of process `pid` in a v1 controller's hierarchy. */
function cgroupOf(pid: string, controller: string): string {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers?.split(',').includes(controller) === true)
      return join('/sys/fs/cgroup', controller, path ?? '');
  }
  throw new Error(`process ${pid} is in no ${controller} cgroup`);
}

/** The run directory (sandbox) of executor `executorIdValue` (a command task's id) under an agent's work dir. */
function sandboxIn(agentDir: string, executorIdValue: string): string | undefined {
  const slaves = join(agentDir, 'slaves');
  for (const agent of list(slaves))
    for (const fw of list(join(slaves, agent, 'frameworks'))) {
      const runs = join(slaves, agent, 'frameworks', fw, 'executors', executorIdValue, 'runs');
      for (const run of list(runs)) if (run !== 'latest') return join(runs, run);
    }
  return undefined;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

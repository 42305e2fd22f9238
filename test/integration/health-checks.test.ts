// Health checks, checks and kill policies as a framework sees them, with a real
// master, agent and tasks: updates with `healthy` and `check_status`, a task
// killed for failing its health check, checks re-armed after an agent restart,
// and the kill policy's grace period between SIGTERM and SIGKILL.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContainerCgroup, detectCgroups } from '../../src/containerizer/index.js';
import { type TaskStatus, taskId } from '../../src/wire/index.js';
import { startCluster, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

const AGENT_RESOURCES = 'cpus:2;mem:1024;disk:1024;ports:[31000-31100]';
const detection = detectCgroups(readFileSync('/proc/self/mountinfo', 'utf8'));
const HEALTH = 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED';
const CHECK = 'REASON_TASK_CHECK_STATUS_UPDATED';

/** A run's sandbox, through the agent's `runs/latest` link. */
function sandboxOf(agentDir: string, agentIdValue: string, frameworkIdValue: string, id: string) {
  return realpathSync(
    join(
      agentDir,
      'slaves',
      agentIdValue,
      'frameworks',
      frameworkIdValue,
      'executors',
      id,
      'runs',
      'latest',
    ),
  );
}

/** PIDs of live processes working in `dir`: a task's, or a check's it started there. */
function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) === dir) found.push(Number(name));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** True when the container has no cgroup left (or the agent runs without cgroups). */
function isCgroupGone(containerIdValue: string): boolean {
  if (detection.kind !== 'available') return true;
  return new ContainerCgroup(detection.hierarchy, 'agora', containerIdValue).directories.every(
    (dir) => !existsSync(dir),
  );
}

const describe = (s: TaskStatus) =>
  [
    s.state,
    s.reason === HEALTH ? 'health' : s.reason === CHECK ? 'check' : undefined,
    s.healthy === undefined ? undefined : `healthy=${s.healthy}`,
  ]
    .filter((part) => part !== undefined)
    .join(' ');

test('a task failing its command health check is reported unhealthy, then killed', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'health');
  t.after(() => framework.stop());
  const agentIdValue = await framework.launch({
    // Healthy for a few seconds, then not, and running on until killed.
    hc: {
      command: { value: 'touch healthy; sleep 3; rm healthy; exec sleep 1000' },
      health_check: {
        type: 'COMMAND',
        command: { value: 'test -f healthy' },
        delay_seconds: 0,
        interval_seconds: 0.2,
        grace_period_seconds: 10,
        consecutive_failures: 2,
      },
    },
  });
  const running = await framework.update('hc', 'TASK_RUNNING');
  const containerIdValue = running.container_status?.container_id?.value;
  assert.ok(containerIdValue !== undefined);
  const sandbox = sandboxOf(
    join(cluster.workDir, 'agent-1'),
    agentIdValue,
    framework.connection.frameworkId.value,
    'hc',
  );
  const killed = await framework.update('hc', 'TASK_KILLED', 30_000);
  assert.equal(killed.healthy, false, 'the end of a task killed by its health check');
  assert.equal(killed.reason, undefined, 'Mesos sets no reason on it');
  assert.deepEqual(framework.updates('hc').map(describe), [
    'TASK_STARTING',
    'TASK_RUNNING',
    'TASK_RUNNING health healthy=true',
    'TASK_RUNNING health healthy=false',
    'TASK_RUNNING health healthy=false',
    'TASK_KILLED healthy=false',
  ]);
  const unhealthy = framework.updates('hc')[3];
  assert.equal(unhealthy?.source, 'SOURCE_EXECUTOR');
  assert.equal(
    unhealthy?.container_status?.executor_pid,
    running.container_status?.executor_pid,
    'a health update repeats the last update',
  );
  await waitFor('nothing left running in the sandbox', () =>
    processesIn(sandbox).length === 0 ? true : undefined,
  );
  await waitFor('the container cgroup to go', () =>
    isCgroupGone(containerIdValue) ? true : undefined,
  );
});

test('TCP health checks and HTTP checks report as the probed servers change', async (t) => {
  let httpStatus = 200;
  const http = createServer((_request, response) => response.writeHead(httpStatus).end());
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(() => http.close());
  const tcp = createTcpServer((socket) => socket.destroy());
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  t.after(() => tcp.close());

  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'checks');
  t.after(() => framework.stop());
  await framework.launch({
    probed: {
      command: { value: 'exec sleep 1000' },
      health_check: {
        type: 'TCP',
        tcp: { port: (tcp.address() as AddressInfo).port },
        delay_seconds: 0,
        interval_seconds: 0.2,
        grace_period_seconds: 0,
        consecutive_failures: 3,
      },
      check: {
        type: 'HTTP',
        http: { port: (http.address() as AddressInfo).port, path: '/ready' },
        delay_seconds: 0,
        interval_seconds: 0.2,
      },
    },
  });
  const running = await framework.update('probed', 'TASK_RUNNING');
  assert.deepEqual(running.check_status, { type: 'HTTP', http: {} }, 'empty until a result');
  await waitFor('a healthy update and a check result', () => {
    const updates = framework.updates('probed');
    return updates.some((s) => s.healthy === true) &&
      updates.some((s) => s.check_status?.http?.status_code === 200)
      ? true
      : undefined;
  });
  httpStatus = 503;
  const unready = await waitFor('the check to see 503', () =>
    framework.updates('probed').find((s) => s.check_status?.http?.status_code === 503),
  );
  assert.equal(unready.reason, CHECK);
  assert.equal(unready.state, 'TASK_RUNNING');
  assert.equal(unready.healthy, true, 'a check update keeps the last health');
  tcp.close();
  const killed = await framework.update('probed', 'TASK_KILLED', 30_000);
  assert.equal(killed.healthy, false);
  const unhealthy = framework
    .updates('probed')
    .filter((s) => s.healthy === false && s.reason === HEALTH);
  assert.equal(unhealthy.length, 3, 'one update per failure, killed at the third');
  assert.equal(
    unhealthy[0]?.check_status?.http?.status_code,
    503,
    'a health update keeps the last check status',
  );
  // The check results are deduplicated: 200 and 503 once each, whatever the interval.
  const checkResults = framework
    .updates('probed')
    .filter((s) => s.reason === CHECK)
    .map((s) => s.check_status?.http?.status_code);
  assert.deepEqual(checkResults, [200, 503]);
});

test('health checks resume after an agent restart, where they had got to', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'resumed');
  t.after(() => framework.stop());
  const agentIdValue = await framework.launch({
    resumed: {
      command: { value: 'touch healthy; exec sleep 1000' },
      health_check: {
        type: 'COMMAND',
        command: { value: 'test -f healthy' },
        delay_seconds: 0,
        interval_seconds: 0.2,
        // Long: only a resumed "has succeeded" lets the failures below count.
        grace_period_seconds: 600,
        consecutive_failures: 2,
      },
    },
  });
  const running = await framework.update('resumed', 'TASK_RUNNING');
  await waitFor('the task to be healthy', () =>
    framework.updates('resumed').find((s) => s.healthy === true),
  );
  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGKILL');
  await agent.exited;
  const agentDir = join(cluster.workDir, 'agent-1');
  const sandbox = sandboxOf(
    agentDir,
    agentIdValue,
    framework.connection.frameworkId.value,
    'resumed',
  );
  rmSync(join(sandbox, 'healthy'));
  await cluster.addAgent('agent-1-again', [], agentDir);
  const killed = await framework.update('resumed', 'TASK_KILLED', 30_000);
  assert.equal(killed.healthy, false);
  assert.equal(
    killed.container_status?.container_id?.value,
    running.container_status?.container_id?.value,
    'the same container, re-attached',
  );
  // The agent was killed at once after the framework saw `healthy`: the acknowledgement may
  // not have reached it, and the restarted agent then sends that update again, with its uuid
  // (delivery is at least once). A resent update is the same update, not a new transition.
  const seen = new Set<string>();
  const transitions = framework
    .updates('resumed')
    .filter((s) => s.reason === HEALTH)
    .filter((s) => {
      const isNew = s.uuid === undefined || !seen.has(s.uuid);
      if (s.uuid !== undefined) seen.add(s.uuid);
      return isNew;
    });
  assert.deepEqual(
    transitions.map((s) => s.healthy),
    [true, false, false],
    'healthy once, before the restart; two failures after it, no new grace period',
  );
});

test('kill policy: SIGTERM, then SIGKILL after the task policy or the KILL call grace period', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const framework = await TaskFramework.start(cluster.masterUrl, 'kill-policy');
  t.after(() => framework.stop());
  // Takes two seconds to exit after SIGTERM (the margins are wide: a loaded CI host is slow) (its sleep dies with the group's TERM; the
  // trap's own sleep does not get one).
  // `armed` once the trap is set: TASK_RUNNING comes at the fork, before the shell has read
  // its trap, and a SIGTERM before then ends it at once (seen on a loaded CI host).
  const slowToStop = "trap 'sleep 2; exit 0' TERM; : > armed; while :; do sleep 0.1; done";
  const grace = (seconds: number) => ({ grace_period: { nanoseconds: seconds * 1e9 } });
  const agentIdValue = await framework.launch({
    'policy-8s': { command: { value: slowToStop }, kill_policy: grace(8) },
    'policy-0.5s': { command: { value: slowToStop }, kill_policy: grace(0.5) },
    'policy-0.5s-kill-8s': { command: { value: slowToStop }, kill_policy: grace(0.5) },
    'policy-20s-kill-0.5s': { command: { value: slowToStop }, kill_policy: grace(20) },
  });
  const overrides: Record<string, number | undefined> = {
    'policy-8s': undefined,
    'policy-0.5s': undefined,
    'policy-0.5s-kill-8s': 8,
    'policy-20s-kill-0.5s': 0.5,
  };
  for (const id of Object.keys(overrides)) await framework.update(id, 'TASK_RUNNING');
  const agentDir = join(cluster.workDir, 'agent-1');
  const frameworkIdValue = framework.connection.frameworkId.value;
  for (const id of Object.keys(overrides))
    await waitFor(`${id}'s trap`, async () =>
      existsSync(join(sandboxOf(agentDir, agentIdValue, frameworkIdValue, id), 'armed'))
        ? true
        : undefined,
    );
  await Promise.all(
    Object.entries(overrides).map(([id, seconds]) =>
      framework.connection.kill(
        taskId(id),
        undefined,
        seconds === undefined ? undefined : grace(seconds),
      ),
    ),
  );
  const ends: Record<string, string | undefined> = {};
  for (const id of Object.keys(overrides))
    ends[id] = (await framework.update(id, 'TASK_KILLED', 30_000)).message;
  assert.deepEqual(ends, {
    'policy-8s': 'Command exited with status 0',
    'policy-0.5s': 'Command terminated with signal Killed',
    'policy-0.5s-kill-8s': 'Command exited with status 0',
    'policy-20s-kill-0.5s': 'Command terminated with signal Killed',
  });
  assert.ok(agentIdValue !== '');
});

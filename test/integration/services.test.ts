// The services framework on a real cluster: apps of real HTTP servers with
// HTTP health checks run by the agent, replaced when killed, scaled, rolled
// out and rolled back, found through DNS, and kept across a SIGKILL of the
// framework itself and of an agent.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getState, killStrandedTask, startCluster, waitFor } from './harness.js';
import {
  api,
  healthyTasks,
  httpServerCmd,
  resolverAt,
  srvPorts,
  srvTargets,
  startServices,
  tasksOf,
} from './services-helpers.js';

/** Both agents share 127.0.0.1, so their port ranges must not overlap. */
const agentResources = (ports: string) => `cpus:4;mem:4096;disk:1024;ports:[${ports}]`;
const SRV = '_web._tcp.services.agora.directory';

function webApp(tag: string, instances: number, healthStatus = 200) {
  return {
    id: '/web',
    cmd: httpServerCmd(tag, healthStatus),
    cpus: 0.1,
    mem: 32,
    instances,
    portDefinitions: [{ port: 0, name: 'http' }],
    backoffSeconds: 1,
    backoffFactor: 1,
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.34 },
    // Replaced as soon as an agent is unreachable (the default waits 5 minutes).
    unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
    healthChecks: [
      {
        protocol: 'HTTP',
        path: '/',
        portIndex: 0,
        gracePeriodSeconds: 10,
        intervalSeconds: 5,
        timeoutSeconds: 4,
        maxConsecutiveFailures: 3,
        delaySeconds: 0,
      },
    ],
  };
}

/** Pids of every instance seen, killed at the end: an agent killed with -9 leaves its tasks. */
const pids = new Set<number>();
async function pidOf(port: number): Promise<number> {
  const pid = Number(await (await fetch(`http://127.0.0.1:${port}/pid`)).text());
  pids.add(pid);
  return pid;
}

test('services: healthy instances, replacement, scaling, rolling deploy, rollback, DNS and restarts', async (t) => {
  const cluster = await startCluster({
    agents: 0,
    masterArgs: ['--agent_ping_timeout', '1secs', '--max_agent_ping_timeouts', '3'],
  });
  t.after(() => cluster.stop());
  await cluster.addAgent('agent-1', ['--resources', agentResources('31000-31099')]);
  await cluster.addAgent('agent-2', ['--resources', agentResources('31100-31199')]);
  await waitFor('2 agents to register', async () =>
    (await getState(cluster.masterUrl)).slaves.filter((s) => s.active).length === 2
      ? true
      : undefined,
  );
  const stateDir = mkdtempSync(join(tmpdir(), 'agora-services-'));
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  // The SIGKILLed agent is not restarted to clean up after its tasks: done here.
  t.after(async () => {
    for (const pid of pids) await killStrandedTask(pid);
  });
  const flags = ['--deployment_stuck_timeout', '8secs', '--log_level', 'debug'];
  let services = await startServices(cluster.masterUrl, stateDir, flags);
  t.after(() => services.daemon.stop());
  t.after(() => {
    if (process.env.SERVICES_LOG === '1')
      for (const line of services.daemon.lines) console.log(JSON.stringify(line));
  });
  const base = services.url;

  // Bad app JSON of many shapes: 422 with Marathon's error shape naming the field; nothing created.
  const bad: [unknown, string][] = [
    [{ id: '/bad', cmd: 'x', cpus: -1 }, '/cpus'],
    [{ id: '/bad', cmd: 'x', instances: 1.5 }, '/instances'],
    [{ id: '/bad', cmd: 'x', instances: 1_000_000 }, '/instances'],
    [{ id: '/Bad_Id', cmd: 'x' }, '/id'],
    [{ id: '/bad' }, '/'],
    [{ id: '/bad', cmd: 'x', args: ['y'] }, '/args'],
    [{ id: '/bad', cmd: 'x', constraints: [['hostname', 'SOMETIMES']] }, '/constraints(0)(1)'],
    [{ id: '/bad', cmd: 'x', constraints: [['rack', 'LIKE', '[']] }, '/constraints(0)(2)'],
    [
      { id: '/bad', cmd: 'x', healthChecks: [{ protocol: 'HTTP', portIndex: 0 }] },
      '/healthChecks(0)/portIndex',
    ],
    [{ id: '/bad', cmd: 'x', healthChecks: [{ protocol: 'COMMAND' }] }, '/healthChecks(0)/command'],
    [
      { id: '/bad', cmd: 'x', upgradeStrategy: { minimumHealthCapacity: 2 } },
      '/upgradeStrategy/minimumHealthCapacity',
    ],
    [{ id: '/bad', cmd: 'x', env: { A: 1 } }, '/env/A'],
    [{ id: '/bad', cmd: 'x', killSelection: 'RANDOM' }, '/killSelection'],
    [[1, 2, 3], '/'],
    [{ id: '/bad', cmd: 'x', labels: JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) }, '/'],
  ];
  for (const [body, path] of bad) {
    const reply = await api(base, 'POST', '/v2/apps', body);
    assert.equal(
      reply.status,
      422,
      `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(reply.body)}`,
    );
    assert.equal(reply.body.message, 'Object is not valid');
    assert.ok(
      reply.body.details.some((d: { path: string }) => d.path === path),
      `${JSON.stringify(body).slice(0, 80)} names ${path}: ${JSON.stringify(reply.body.details)}`,
    );
  }
  assert.equal((await api(base, 'POST', '/v2/apps', '{"id": ')).status, 400);
  assert.equal((await api(base, 'POST', '/v2/apps', 'x'.repeat(2 * 1024 * 1024))).status, 413);
  assert.deepEqual((await api(base, 'GET', '/v2/apps')).body, { apps: [] });

  // Three healthy instances, in DNS.
  const created = await api(base, 'POST', '/v2/apps', webApp('v1', 3));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  let tasks = await healthyTasks(base, '/web', 3);
  const resolver = resolverAt(services.dnsPort);
  await waitFor('SRV records of the 3 instances', async () => {
    const ports = await srvPorts(resolver, SRV);
    return JSON.stringify(ports) ===
      JSON.stringify(tasks.map((x) => x.ports[0] ?? 0).sort((a, b) => a - b))
      ? true
      : undefined;
  });
  assert.deepEqual(await resolver.resolve4('web.services.agora.directory'), [
    '127.0.0.1',
    '127.0.0.1',
    '127.0.0.1',
  ]);
  for (const task of tasks) await pidOf(task.ports[0] ?? 0);
  const embedded = await api(base, 'GET', '/v2/apps?embed=apps.tasks');
  assert.equal(embedded.body.apps[0].tasks.length, 3);
  assert.equal((await api(base, 'GET', '/v2/groups')).body.apps[0].id, '/web');
  assert.equal((await api(base, 'GET', '/ping')).body, 'pong');

  // Kill one instance's process: replaced within backoffSeconds and a few seconds.
  const victim = tasks[0];
  assert.ok(victim !== undefined);
  process.kill(await pidOf(victim.ports[0] ?? 0), 'SIGKILL');
  tasks = await healthyTasks(
    base,
    '/web',
    3,
    30_000,
    (now) => !now.some((x) => x.id === victim.id),
  );
  const victimSuffix = victim.id.slice(
    victim.id.lastIndexOf('.') + 1,
    victim.id.lastIndexOf('.') + 13,
  );
  await waitFor('DNS without the killed instance', async () => {
    const targets = await srvTargets(resolver, SRV);
    return targets.length === 3 && !targets.some((name) => name.includes(victimSuffix))
      ? true
      : undefined;
  });

  // Scale to 5 and back to 2.
  // Each scaling is a deployment, which ends a loop turn after its instances are healthy (or
  // gone); a PATCH before that is refused with 409, as Marathon does: wait, as its users do.
  const deploymentsDone = () =>
    waitFor('no deployment in progress', async () =>
      (await api(base, 'GET', '/v2/deployments')).body.length === 0 ? true : undefined,
    );
  assert.equal((await api(base, 'PATCH', '/v2/apps/web', { instances: 5 })).status, 200);
  tasks = await healthyTasks(base, '/web', 5);
  await deploymentsDone();
  assert.equal((await api(base, 'PATCH', '/v2/apps/web', { instances: 2 })).status, 200);
  tasks = await healthyTasks(base, '/web', 2);
  await deploymentsDone();
  await waitFor('DNS with 2 instances', async () =>
    (await srvPorts(resolver, SRV)).length === 2 ? true : undefined,
  );
  assert.equal((await api(base, 'PATCH', '/v2/apps/web', { instances: 3 })).status, 200);
  tasks = await healthyTasks(base, '/web', 3);
  for (const task of tasks) await pidOf(task.ports[0] ?? 0);
  await deploymentsDone();

  // A rolling deploy keeps all 3 healthy (minimumHealthCapacity 1) at every 100 ms sample.
  const before = new Set(tasks.map((x) => x.id));
  const deploy = await api(base, 'PUT', '/v2/apps/web', { cmd: httpServerCmd('v2') });
  assert.equal(deploy.status, 200, JSON.stringify(deploy.body));
  let samples = 0;
  for (const deadline = performance.now() + 90_000; ; ) {
    assert.ok(performance.now() < deadline, 'the rolling deploy did not finish in 90 s');
    const now = await tasksOf(base, '/web');
    const healthy = now.filter((x) => x.healthy).length;
    assert.ok(
      healthy >= 3,
      `only ${healthy} healthy during the rolling deploy: ${JSON.stringify(now)}`,
    );
    samples++;
    const deployments = (await api(base, 'GET', '/v2/deployments')).body as unknown[];
    if (deployments.length === 0 && now.length === 3 && now.every((x) => !before.has(x.id))) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(samples > 3);
  tasks = await healthyTasks(base, '/web', 3);
  for (const task of tasks)
    assert.equal(await (await fetch(`http://127.0.0.1:${task.ports[0]}/`)).text(), 'v2');
  for (const task of tasks) await pidOf(task.ports[0] ?? 0);

  // A deploy whose instances never become healthy is reported stuck, and rolled back.
  const stuckDeploy = await api(base, 'PUT', '/v2/apps/web', { cmd: httpServerCmd('v3', 500) });
  assert.equal(stuckDeploy.status, 200);
  const stuck = await waitFor(
    'the deployment to be reported stuck',
    async () => {
      const [deployment] = (await api(base, 'GET', '/v2/deployments')).body;
      return deployment?.stuck !== undefined ? deployment : undefined;
    },
    60_000,
  );
  assert.equal(stuck.id, stuckDeploy.body.deploymentId);
  const v2Ids = new Set(tasks.map((x) => x.id));
  assert.deepEqual(
    new Set((await tasksOf(base, '/web')).filter((x) => x.healthy).map((x) => x.id)),
    v2Ids,
    'the old instances stay while the new never become healthy',
  );
  const rollback = await api(base, 'DELETE', `/v2/deployments/${stuck.id}`);
  assert.equal(rollback.status, 200, JSON.stringify(rollback.body));
  await waitFor(
    'the rollback to finish',
    async () => ((await api(base, 'GET', '/v2/deployments')).body.length === 0 ? true : undefined),
    60_000,
  );
  tasks = await healthyTasks(base, '/web', 3);
  assert.deepEqual(new Set(tasks.map((x) => x.id)), v2Ids, 'the rollback restarted nothing');
  assert.match((await api(base, 'GET', '/v2/apps/web')).body.app.cmd, /v2/);

  // The framework is SIGKILLed and started again: nothing lost, nothing restarted.
  const frameworkId = (await api(base, 'GET', '/v2/info')).body.frameworkId;
  await services.daemon.stop('SIGKILL');
  services = await startServices(cluster.masterUrl, stateDir, flags, services.dnsPort);
  const after = await healthyTasks(services.url, '/web', 3);
  assert.deepEqual(new Set(after.map((x) => x.id)), v2Ids);
  assert.equal((await api(services.url, 'GET', '/v2/info')).body.frameworkId, frameworkId);
  // A few ticks later still nothing new was launched.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const state = await getState(cluster.masterUrl);
  const framework = state.frameworks.find((f) => f.id === frameworkId);
  assert.ok(framework !== undefined);
  assert.deepEqual(
    new Set(framework.tasks.filter((x) => x.state === 'TASK_RUNNING').map((x) => x.id)),
    v2Ids,
  );
  await waitFor('DNS after the restart', async () =>
    (await srvPorts(resolverAt(services.dnsPort), SRV)).length === 3 ? true : undefined,
  );

  // An agent is SIGKILLed: its instances are replaced on the other one.
  const agentOfFirst = after[0]?.slaveId;
  const doomed = cluster.agents.find((a) =>
    state.slaves.find((s) => s.id === agentOfFirst && a.url.includes(s.pid.split('@')[1] ?? '?')),
  );
  const victimAgent = doomed ?? cluster.agents[0];
  assert.ok(victimAgent !== undefined);
  await victimAgent.stop('SIGKILL');
  const survivors = await waitFor(
    'the other agent to hold all instances',
    async () => {
      const now = await tasksOf(services.url, '/web');
      const agents = new Set(now.map((x) => x.slaveId));
      return now.length === 3 &&
        now.every((x) => x.healthy) &&
        agents.size === 1 &&
        !agents.has(agentOfFirst ?? '')
        ? now
        : undefined;
    },
    90_000,
  );
  for (const task of survivors) await pidOf(task.ports[0] ?? 0);

  // Delete: every instance goes.
  assert.equal((await api(services.url, 'DELETE', '/v2/apps/web')).status, 200);
  await waitFor(
    'the app to be gone',
    async () =>
      (await api(services.url, 'GET', '/v2/apps')).body.apps.length === 0 ? true : undefined,
    60_000,
  );
});

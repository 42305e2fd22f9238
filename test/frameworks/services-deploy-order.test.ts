// The services core's deployment rules beyond health: readiness checks,
// dependencies between apps, automatic rollback; and group bodies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AppDefinition, parseApp } from '../../src/frameworks/services/app-definition.js';
import { ServiceCore } from '../../src/frameworks/services/core.js';
import { dependencyCycle, parseGroup } from '../../src/frameworks/services/groups.js';
import type { OfferView } from '../../src/frameworks/services/offer-matching.js';

function app(fields: Record<string, unknown> = {}): AppDefinition {
  const parsed = parseApp({ id: '/web', cmd: 'serve', cpus: 0.1, mem: 16, ...fields });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.failure));
  return parsed.value;
}

function offer(id: string): OfferView {
  return {
    id,
    agentId: `agent-${id}`,
    hostname: `host-${id}`,
    ip: '10.0.0.1',
    role: '*',
    attributes: {},
    free: { cpus: 8, mem: 8192, disk: 0 },
    ports: [[31000, 31999]],
  };
}

function newCore(autoRollback = false): ServiceCore {
  let ids = 0;
  return new ServiceCore({
    frameworkRole: '*',
    policy: 'spread',
    stuckAfterMs: 10_000,
    newId: () => String(++ids),
    autoRollback,
  });
}

/** Launches what waits and reports every launched instance running (and healthy). */
function launchRunning(core: ServiceCore, nowMs: number): string[] {
  core.tick(nowMs);
  const { launches } = core.offers([offer(String(nowMs))], nowMs);
  for (const instance of launches)
    core.statusUpdate(
      {
        taskId: instance.id,
        state: 'TASK_RUNNING',
        healthy: instance.hasHealthCheck ? true : undefined,
        message: undefined,
        agentId: instance.agentId,
      },
      nowMs,
    );
  core.tick(nowMs);
  return launches.map((i) => i.id);
}

const READY = {
  portDefinitions: [{ port: 0, name: 'http' }],
  readinessChecks: [{ portName: 'http', path: '/ready', intervalSeconds: 2, timeoutSeconds: 1 }],
};

test('readiness: a deploy waits for new instances to be ready, and old ones stay until then', () => {
  const core = newCore();
  core.putApp(app({ instances: 2, ...READY }), 0, false);
  const first = launchRunning(core, 0);
  assert.equal(first.length, 2);
  assert.equal(core.deployments.size, 1, 'running is not enough: not ready yet');
  assert.deepEqual(
    core
      .readinessCandidates()
      .map((c) => c.instance.id)
      .sort(),
    [...first].sort(),
  );
  for (const taskId of first)
    core.readinessResult(
      { name: 'readinessCheck', taskId, ready: true, lastResponse: undefined },
      100,
    );
  core.tick(100);
  assert.equal(core.deployments.size, 0, 'ready: the deployment is done');
  assert.deepEqual(core.readinessCandidates(), [], 'no checks outside a deployment');

  core.putApp(
    app({
      instances: 2,
      cmd: 'serve --v2',
      ...READY,
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
    }),
    200,
    false,
  );
  const second = launchRunning(core, 200);
  assert.equal(second.length, 2);
  const alive = () => [...core.instances.values()].filter((i) => !i.isKillWanted).length;
  assert.equal(alive(), 4, 'old instances are kept while the new are not ready');
  core.readinessResult(
    { name: 'readinessCheck', taskId: second[0] ?? '', ready: false, lastResponse: undefined },
    300,
  );
  core.tick(300);
  assert.equal(alive(), 4, 'a not-ready answer changes nothing');
  for (const taskId of second)
    core.readinessResult(
      { name: 'readinessCheck', taskId, ready: true, lastResponse: undefined },
      400,
    );
  core.tick(400);
  assert.equal(alive(), 2, 'ready: the old ones go');
});

test('dependencies: an app deploys after the apps it depends on are done', () => {
  const core = newCore();
  core.putApp(app({ id: '/db', instances: 1 }), 0, false);
  core.putApp(app({ id: '/web', instances: 2, dependencies: ['/db'] }), 0, false);
  core.tick(0);
  const { launches } = core.offers([offer('a')], 0);
  assert.deepEqual(
    launches.map((i) => i.appId),
    ['/db'],
    'web waits for db',
  );
  const web = core.deploymentOf('/web');
  assert.equal(web?.waitingFor, 'waiting for /db');
  // Still waiting long past the stuck timeout is not stuck.
  core.tick(60_000);
  assert.equal(core.deploymentOf('/web')?.stuck, undefined);
  const [db] = launches;
  assert.ok(db !== undefined);
  core.statusUpdate(
    { taskId: db.id, state: 'TASK_RUNNING', healthy: undefined, message: undefined, agentId: 'a' },
    61_000,
  );
  core.tick(61_000);
  assert.equal(core.deploymentOf('/db'), undefined);
  const next = core.offers([offer('b')], 61_000).launches;
  assert.deepEqual(
    next.map((i) => i.appId),
    ['/web', '/web'],
  );
});

test('auto rollback: a stuck deploy goes back to the previous definition, keeping its instances', () => {
  const core = newCore(true);
  const v1 = app({
    instances: 2,
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.5 },
  });
  core.putApp(v1, 0, false);
  const first = launchRunning(core, 0);
  assert.equal(core.deployments.size, 0);
  core.putApp({ ...v1, cmd: 'serve --broken' }, 1000, false);
  core.tick(1000);
  // The new instance launches and never runs.
  core.offers([offer('x')], 1000);
  core.tick(2000);
  core.tick(12_000);
  const rollback = core.deploymentOf('/web');
  assert.equal(rollback?.kind, 'rollback');
  assert.equal(core.apps.get('/web')?.def.cmd, 'serve');
  const events = core.takeEvents().map((e) => e.eventType);
  assert.ok(events.includes('deployment_stuck'));
  assert.ok(events.includes('deployment_rolled_back'));
  core.tick(12_500); // kills the broken instance
  core.tick(13_000);
  const kept = [...core.instances.values()].filter((i) => !i.isKillWanted).map((i) => i.id);
  assert.deepEqual(kept.sort(), [...first].sort(), 'the v1 instances were never restarted');
  assert.equal(core.deployments.size, 0, 'the rollback is done without restarting anything');
});

test('groups: apps under a group with relative ids, group dependencies, errors with paths', () => {
  const parsed = parseGroup(
    {
      id: '/shop',
      apps: [{ id: 'db', cmd: 'db' }],
      groups: [
        {
          id: 'front',
          dependencies: ['/shop/db'],
          apps: [{ id: 'web', cmd: 'web', dependencies: ['../db'] }],
        },
      ],
    },
    '/shop',
  );
  assert.ok(parsed.ok, JSON.stringify(parsed));
  if (!parsed.ok) return;
  assert.deepEqual(
    parsed.value.apps.map((a) => [a.id, a.dependencies]),
    [
      ['/shop/db', []],
      ['/shop/front/web', ['/shop/db']],
    ],
  );
  const bad: [unknown, string][] = [
    [{ id: '/shop', apps: [{ id: 'web', cmd: 'x', cpus: -1 }] }, '/apps(0)/cpus'],
    [{ id: '/shop', groups: [{ id: 'a', apps: [{ id: 'w' }] }] }, '/groups(0)/apps(0)'],
    [{ id: '/shop', apps: [{ id: '/elsewhere/web', cmd: 'x' }] }, '/apps(0)/id'],
    [{ id: '/other' }, '/id'],
  ];
  for (const [body, path] of bad) {
    const result = parseGroup(body, '/shop');
    assert.equal(result.ok, false, JSON.stringify(body));
    if (!result.ok)
      assert.ok(
        result.failure.details.some((d) => d.path === path),
        `${path}: ${JSON.stringify(result.failure.details)}`,
      );
  }
  assert.deepEqual(
    dependencyCycle(
      new Map([
        ['/a', ['/b']],
        ['/b', ['/g']],
        ['/g/c', ['/a']],
      ]),
    ),
    ['/a', '/b', '/g/c', '/a'],
  );
  assert.equal(
    dependencyCycle(
      new Map([
        ['/a', ['/b']],
        ['/b', []],
      ]),
    ),
    undefined,
  );
});

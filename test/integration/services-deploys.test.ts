// The services framework's deployment rules on a real cluster: a YAML group
// applied with the CLI, deployed in dependency order; readiness checks that
// hold a deployment (and the old instances) until the new ones are ready;
// PUT /v2/groups that changes only what changed; a stuck deploy rolled back
// automatically; DELETE /v2/groups.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getState, runCli, startCluster, waitFor } from './harness.js';
import { api, healthyTasks, startServices, type TaskView, tasksOf } from './services-helpers.js';

/** Ports no other integration test's agent offers: the instances bind them on 127.0.0.1. */
const AGENT_RESOURCES = 'cpus:4;mem:4096;disk:1024;ports:[32400-32499]';

/**
 * An HTTP server: `/ready` answers 200 once the file READY_FILE exists (503
 * before), `/` answers `health` (the health check), `/pid` its pid.
 */
function serverCmd(tag: string, health = 200): string {
  const script =
    `const fs=require('fs');require('http').createServer((q,s)=>{` +
    `if(q.url==='/ready'){s.statusCode=fs.existsSync(process.env.READY_FILE)?200:503;return s.end()}` +
    `s.statusCode=q.url==='/pid'?200:${health};s.end(q.url==='/pid'?String(process.pid):'${tag}')` +
    `}).listen(process.env.PORT0,'127.0.0.1')`;
  return `exec ${process.execPath} -e "${script}"`;
}

const HEALTH = {
  protocol: 'HTTP',
  path: '/',
  portIndex: 0,
  gracePeriodSeconds: 20,
  intervalSeconds: 2,
  timeoutSeconds: 1,
  maxConsecutiveFailures: 3,
  delaySeconds: 0,
};

function webApp(tag: string, dir: string, health = 200) {
  return {
    id: 'web',
    cmd: serverCmd(tag, health),
    cpus: 0.1,
    mem: 32,
    instances: 2,
    env: { READY_FILE: join(dir, `ready-${tag}`) },
    portDefinitions: [{ port: 0, name: 'http' }],
    dependencies: ['db'],
    healthChecks: [HEALTH],
    readinessChecks: [
      { name: 'warm', portName: 'http', path: '/ready', intervalSeconds: 2, timeoutSeconds: 1 },
    ],
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.5 },
  };
}

function dbApp(dir: string) {
  return {
    id: 'db',
    cmd: serverCmd('db'),
    cpus: 0.1,
    mem: 32,
    instances: 1,
    env: { READY_FILE: join(dir, 'unused') },
    portDefinitions: [{ port: 0, name: 'http' }],
    healthChecks: [HEALTH],
  };
}

/** Pids of every instance seen, killed at the end in case the agent left any. */
const pids = new Set<number>();
async function rememberPids(tasks: readonly TaskView[]): Promise<void> {
  for (const task of tasks) {
    const port = task.ports[0];
    if (port === undefined) continue;
    try {
      pids.add(Number(await (await fetch(`http://127.0.0.1:${port}/pid`)).text()));
    } catch {
      // Not answering (yet, or any more).
    }
  }
}

test('services: YAML groups deploy in dependency order, readiness holds deploys, stuck deploys roll back', async (t) => {
  const cluster = await startCluster({ agents: 0 });
  t.after(() => cluster.stop());
  await cluster.addAgent('agent-1', ['--resources', AGENT_RESOURCES]);
  await waitFor('the agent to register', async () =>
    (await getState(cluster.masterUrl)).slaves.some((s) => s.active) ? true : undefined,
  );
  const dir = mkdtempSync(join(tmpdir(), 'agora-services-deploys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  t.after(() => {
    for (const pid of pids)
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
  });
  const services = await startServices(cluster.masterUrl, join(dir, 'state'), [
    // Longer than a deploy is held for readiness below (a wait for readiness is no progress).
    '--deployment_stuck_timeout',
    '20secs',
    '--auto_rollback',
    '--log_level',
    'debug',
  ]);
  t.after(() => services.daemon.stop());
  t.after(() => {
    if (process.env.SERVICES_LOG === '1')
      for (const line of services.daemon.lines) console.log(JSON.stringify(line));
  });
  const base = services.url;
  const apply = async (file: string) =>
    runCli(['services', 'apply', '-f', file, '--url', base], { timeoutMs: 60_000 }).result;

  // Bad YAML: the CLI names file, line and column; a bad field in good YAML, its line.
  const badYaml = join(dir, 'bad.yaml');
  writeFileSync(badYaml, 'id: /shop\napps:\n  - id: web\n    cmd: [sleep\n');
  const syntax = await apply(badYaml);
  assert.equal(syntax.code, 2, syntax.stderr);
  assert.match(syntax.stderr, /bad\.yaml:\d+:\d+: /);
  const badField = join(dir, 'field.yaml');
  writeFileSync(badField, 'id: /lonely\ncmd: sleep 100\ncpus: -1\n');
  const field = await apply(badField);
  assert.equal(field.code, 1, field.stderr);
  assert.match(field.stderr, /field\.yaml:3: \/cpus: /);
  // A dependency cycle in a group is refused before anything starts.
  const cyclic = await api(base, 'POST', '/v2/groups', {
    id: '/loop',
    apps: [
      { id: 'a', cmd: 'sleep 100', dependencies: ['b'] },
      { id: 'b', cmd: 'sleep 100', dependencies: ['a'] },
    ],
  });
  assert.equal(cyclic.status, 422, JSON.stringify(cyclic.body));
  assert.match(JSON.stringify(cyclic.body.details), /cycle/);
  assert.deepEqual((await api(base, 'GET', '/v2/apps')).body, { apps: [] });

  // The group, as YAML (web first in the file, depending on db).
  const stack = join(dir, 'shop.yaml');
  const group = (web: unknown) => ({ id: '/shop', apps: [web, dbApp(dir)] });
  writeFileSync(stack, `# the shop\n${toBlockYaml(group(webApp('v1', dir)))}`);
  const applied = await apply(stack);
  assert.equal(applied.code, 0, applied.stderr);

  // Dependency order: web has no instance while db's deployment is still going.
  // Web's tasks are read first: if it had any, db's deployment was over before.
  const isDbDeployingOnceWebStarted = await waitFor(
    'web instances to launch',
    async () => {
      const web = await tasksOf(base, '/shop/web');
      const deployments = (await api(base, 'GET', '/v2/deployments')).body as {
        affectedApps: string[];
      }[];
      const isDbDeploying = deployments.some((d) => d.affectedApps.includes('/shop/db'));
      return web.length > 0 ? isDbDeploying : undefined;
    },
    90_000,
  );
  assert.equal(isDbDeployingOnceWebStarted, false, 'web launched while db was still deploying');
  const db = await healthyTasks(base, '/shop/db', 1, 60_000);
  await rememberPids(db);

  // Readiness: web is healthy but its deployment waits for /ready, answered 503 for now.
  const v1 = await healthyTasks(base, '/shop/web', 2, 90_000);
  await rememberPids(v1);
  const notReady = await waitFor(
    'readiness answers (not ready) for web',
    async () => {
      const deployments = (await api(base, 'GET', '/v2/deployments')).body as {
        affectedApps: string[];
        currentActions: { readinessCheckResults: { taskId: string; ready: boolean }[] }[];
      }[];
      const web = deployments.find((d) => d.affectedApps.includes('/shop/web'));
      const results = web?.currentActions[0]?.readinessCheckResults ?? [];
      return results.length === 2 && results.every((r) => !r.ready) ? results : undefined;
    },
    30_000,
  );
  assert.equal(notReady[0]?.ready, false);
  writeFileSync(join(dir, 'ready-v1'), '');
  await waitFor('the web deployment to finish once ready', async () => {
    const deployments = (await api(base, 'GET', '/v2/deployments')).body as unknown[];
    return deployments.length === 0 ? true : undefined;
  });

  // PUT the group with a new web: db is left alone; the old web instances stay until a new one is ready.
  const dbBefore = (await tasksOf(base, '/shop/db')).map((task) => task.id);
  const changed = await api(base, 'PUT', '/v2/groups/shop', group(webApp('v2', dir)));
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.equal(changed.body.deploymentIds.length, 1, 'only web changed');
  const v1Ids = new Set(v1.map((task) => task.id));
  // Sampled all along: both v1 instances stay while no v2 is ready.
  const v1Counts: number[] = [];
  await waitFor(
    'a v2 instance healthy but not ready',
    async () => {
      const tasks = await tasksOf(base, '/shop/web');
      const fresh = tasks.filter((task) => !v1Ids.has(task.id));
      await rememberPids(fresh);
      v1Counts.push(tasks.filter((task) => v1Ids.has(task.id)).length);
      return fresh.some((task) => task.healthy) ? true : undefined;
    },
    60_000,
  );
  // Two readiness intervals more, still sampled: nothing is ready, nothing old goes.
  const holdUntil = performance.now() + 4000;
  await waitFor(
    'two readiness intervals',
    async () => {
      const tasks = await tasksOf(base, '/shop/web');
      v1Counts.push(tasks.filter((task) => v1Ids.has(task.id)).length);
      return performance.now() >= holdUntil ? true : undefined;
    },
    30_000,
  );
  assert.ok(
    v1Counts.every((count) => count === 2),
    `a v1 instance went before a v2 was ready: ${v1Counts.join(',')}`,
  );
  writeFileSync(join(dir, 'ready-v2'), '');
  const v2 = await healthyTasks(base, '/shop/web', 2, 90_000, (tasks) =>
    tasks.every((task) => !v1Ids.has(task.id)),
  );
  await rememberPids(v2);
  await waitFor('the v2 deployment to finish', async () =>
    ((await api(base, 'GET', '/v2/deployments')).body as unknown[]).length === 0 ? true : undefined,
  );
  assert.deepEqual(
    (await tasksOf(base, '/shop/db')).map((task) => task.id),
    dbBefore,
    'db was not restarted',
  );

  // A deploy whose instances never become healthy is stuck, then rolled back on its own.
  const broken = await api(base, 'PUT', '/v2/apps/shop/web', {
    cmd: serverCmd('v3', 500),
    env: { READY_FILE: join(dir, 'ready-v2') },
  });
  assert.equal(broken.status, 200, JSON.stringify(broken.body));
  await waitFor(
    'the stuck deploy to be rolled back',
    async () => {
      const app = (await api(base, 'GET', '/v2/apps/shop/web')).body.app as { cmd: string };
      const deployments = (await api(base, 'GET', '/v2/deployments')).body as unknown[];
      return app.cmd.includes("'v2'") && deployments.length === 0 ? true : undefined;
    },
    90_000,
  );
  const after = await healthyTasks(base, '/shop/web', 2, 60_000);
  assert.deepEqual(
    after.map((task) => task.id).sort(),
    v2.map((task) => task.id).sort(),
    'the v2 instances were kept through the failed deploy and its rollback',
  );

  // DELETE the group: every app in it goes.
  const deleted = await api(base, 'DELETE', '/v2/groups/shop');
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  await waitFor('the group to be gone', async () =>
    ((await api(base, 'GET', '/v2/apps')).body.apps as unknown[]).length === 0 ? true : undefined,
  );
  assert.equal((await api(base, 'GET', '/v2/groups/shop')).status, 404);
});

/** Block-style YAML of a JSON value (maps, lists, scalars), as a person would write it. */
function toBlockYaml(value: unknown, indent = ''): string {
  if (Array.isArray(value))
    return value
      .map((item) => {
        const inner = toBlockYaml(item, `${indent}  `);
        return typeof item === 'object' && item !== null
          ? `${indent}- ${inner.trimStart()}`
          : `${indent}- ${inner.trim()}\n`;
      })
      .join('');
  if (typeof value === 'object' && value !== null)
    return Object.entries(value)
      .map(([key, v]) =>
        typeof v === 'object' && v !== null
          ? (Array.isArray(v) && v.length === 0) || Object.keys(v).length === 0
            ? `${indent}${key}: ${JSON.stringify(v)}\n`
            : `${indent}${key}:\n${toBlockYaml(v, `${indent}  `)}`
          : `${indent}${key}: ${JSON.stringify(v)}\n`,
      )
      .join('');
  return `${JSON.stringify(value)}\n`;
}

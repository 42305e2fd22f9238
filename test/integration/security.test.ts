// The security suite (issue #14, "Tests"): with authentication on, every route of the master
// and the agent, enumerated from their routers (so a new route is covered without editing
// this file), answers 401 without credentials and 403 to a principal the ACLs deny; a denied
// operator call is a 403 naming the action; /master/state and GET_STATE show a principal only
// what its view ACLs let it see.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AGENT_ROUTE_ACCESS } from '../../src/agent/route-access.js';
import { MASTER_ROUTE_ACCESS } from '../../src/master/http/route-access.js';
import { type RegisteredRoute, routeKey } from '../../src/runtime/index.js';
import { type SchedulerConnection, subscribe, useCredential } from '../../src/sdk/index.js';
import { agentRoutes, masterRoutes } from '../master/daemon-routes.js';
import { waitFor } from './harness.js';
import {
  AGENT,
  authorization,
  GUEST,
  OPS,
  type SecureCluster,
  startSecureCluster,
  type TestCredential,
} from './secure-cluster.js';

const ACLS = {
  // The guest may use no endpoint at all; everyone else every one (permissive).
  get_endpoints: [{ principals: { values: [GUEST.principal] }, paths: { type: 'NONE' } }],
  // Only ops sees frameworks, tasks and executors.
  view_frameworks: [
    { principals: { values: [OPS.principal] }, users: { type: 'ANY' } },
    { principals: { type: 'ANY' }, users: { type: 'NONE' } },
  ],
  view_tasks: [
    { principals: { values: [OPS.principal] }, users: { type: 'ANY' } },
    { principals: { type: 'ANY' }, users: { type: 'NONE' } },
  ],
  update_weight: [{ principals: { values: [AGENT.principal] }, roles: { type: 'NONE' } }],
};

/** A request to `route` (a prefix route gets a name under it), with `credential` or none. */
function send(base: string, route: RegisteredRoute, credential?: TestCredential) {
  const path = route.isPrefix ? `${route.path}x` : route.path;
  const hasBody = route.method === 'POST' || route.method === 'PUT';
  return fetch(new URL(path, base), {
    method: route.method,
    headers: {
      ...(credential === undefined ? {} : { authorization: authorization(credential) }),
      ...(hasBody ? { 'content-type': 'application/json', accept: 'application/json' } : {}),
    },
    ...(hasBody ? { body: '{}' } : {}),
    signal: AbortSignal.timeout(30_000),
  });
}

const isGuarded = (table: Readonly<Record<string, string>>) => (route: RegisteredRoute) => {
  const access = table[routeKey(route.method, route.path, route.isPrefix)];
  return access !== 'public' && access !== 'executor';
};

describe('security suite', () => {
  let cluster: SecureCluster;
  let framework: SchedulerConnection | undefined;
  const workDir = mkdtempSync(join(tmpdir(), 'agora-sec-routes-'));
  before(async () => {
    cluster = await startSecureCluster({
      acls: ACLS,
      agentResources: 'cpus:2;mem:1024;disk:1024',
    });
  });
  after(async () => {
    useCredential(undefined);
    await framework?.close({ drainMs: 0 });
    await cluster?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('every guarded route of the master answers 401 without credentials and 403 to a denied principal', async () => {
    const routes = masterRoutes().filter(isGuarded(MASTER_ROUTE_ACCESS));
    assert.ok(routes.length > 30, `${routes.length} routes`);
    const wrong: string[] = [];
    for (const route of routes) {
      const key = routeKey(route.method, route.path, route.isPrefix);
      const anonymous = await send(cluster.masterUrl, route);
      await anonymous.body?.cancel();
      if (
        anonymous.status !== 401 ||
        !/^Basic realm="mesos-master-/.test(anonymous.headers.get('www-authenticate') ?? '')
      )
        wrong.push(`${key}: anonymous got ${anonymous.status}`);
      const guest = await send(cluster.masterUrl, route, GUEST);
      const text = await guest.text();
      if (guest.status !== 403 || !text.includes('get_endpoints'))
        wrong.push(`${key}: guest got ${guest.status} ${text.slice(0, 80)}`);
    }
    assert.deepEqual(wrong, []);
  });

  test('every guarded route of the agent answers 401 without credentials and 403 to a denied principal', async () => {
    const agent = await cluster.addAgent('agent-guarded', [
      '--credential',
      cluster.agentCredentialFile,
      '--authenticate_http_readonly',
      '--authenticate_http_readwrite',
      '--http_credentials',
      cluster.credentialsFile,
      '--acls',
      JSON.stringify({ get_endpoints: ACLS.get_endpoints }),
    ]);
    const routes = agentRoutes(workDir).filter(isGuarded(AGENT_ROUTE_ACCESS));
    assert.ok(routes.length >= 8, `${routes.length} routes`);
    const wrong: string[] = [];
    for (const route of routes) {
      const key = routeKey(route.method, route.path, route.isPrefix);
      const anonymous = await send(agent.url, route);
      await anonymous.body?.cancel();
      if (anonymous.status !== 401) wrong.push(`${key}: anonymous got ${anonymous.status}`);
      const guest = await send(agent.url, route, GUEST);
      await guest.body?.cancel();
      if (guest.status !== 403) wrong.push(`${key}: guest got ${guest.status}`);
      const ops = await send(agent.url, route, OPS);
      await ops.body?.cancel();
      if (ops.status === 401 || ops.status === 403) wrong.push(`${key}: ops got ${ops.status}`);
    }
    assert.deepEqual(wrong, []);
  });

  test('a denied operator call is a 403 naming the action', async () => {
    const call = (credential: TestCredential) =>
      fetch(new URL('/api/v1', cluster.masterUrl), {
        method: 'POST',
        headers: {
          authorization: authorization(credential),
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify({
          type: 'UPDATE_WEIGHTS',
          update_weights: { weight_infos: [{ role: 'web', weight: 2 }] },
        }),
      });
    const denied = await call(AGENT);
    assert.equal(denied.status, 403);
    assert.match(await denied.text(), /update_weight on 'web'/);
    const allowed = await call(OPS);
    assert.equal(allowed.status, 200, await allowed.text());
  });

  test('state shows frameworks and tasks only to principals allowed to view them', async () => {
    useCredential(OPS);
    framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: { user: 'root', name: 'seen-by-ops', principal: OPS.principal },
    });
    const frameworksSeenBy = async (credential: TestCredential) => {
      const response = await cluster.get(new URL('/master/state', cluster.masterUrl), credential);
      assert.equal(response.status, 200);
      return ((await response.json()) as { frameworks: unknown[] }).frameworks.length;
    };
    await waitFor('ops to see the framework', async () =>
      (await frameworksSeenBy(OPS)) === 1 ? true : undefined,
    );
    assert.equal(await frameworksSeenBy(AGENT), 0, 'the agent principal sees no framework');
    const getState = async (credential: TestCredential) => {
      const response = await fetch(new URL('/api/v1', cluster.masterUrl), {
        method: 'POST',
        headers: {
          authorization: authorization(credential),
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify({ type: 'GET_STATE' }),
      });
      const body = (await response.json()) as {
        get_state: { get_frameworks: { frameworks?: unknown[] } };
      };
      return body.get_state.get_frameworks.frameworks?.length ?? 0;
    };
    assert.equal(await getState(OPS), 1);
    assert.equal(await getState(AGENT), 0);
  });
});

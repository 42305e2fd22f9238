// Every route of the master and the agent is in its daemon's route-access table (the realm
// that decides its authentication), and no table names a route nobody serves. HttpServer
// refuses to register an unclassified route, so building the daemons is half the test.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AGENT_ROUTE_ACCESS } from '../../src/agent/route-access.js';
import { MASTER_ROUTE_ACCESS } from '../../src/master/http/route-access.js';
import {
  HttpServer,
  type RegisteredRoute,
  routeKey,
  silentLogger,
} from '../../src/runtime/index.js';
import { agentRoutes, masterRoutes } from './daemon-routes.js';

function check(routes: readonly RegisteredRoute[], table: Readonly<Record<string, unknown>>) {
  const keys = routes.map((r) => routeKey(r.method, r.path, r.isPrefix));
  assert.ok(keys.length > 10, `the router lists its routes (${keys.length})`);
  assert.deepEqual(
    keys.filter((key) => table[key] === undefined),
    [],
    'unclassified routes',
  );
  const served = new Set(keys);
  assert.deepEqual(
    Object.keys(table).filter((key) => !served.has(key)),
    [],
    'table entries no route serves',
  );
}

test('route access classifies every route the master serves, and only those', () => {
  check(masterRoutes(), MASTER_ROUTE_ACCESS);
});

test('route access classifies every route the agent serves, and only those', (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-routes-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  check(agentRoutes(workDir), AGENT_ROUTE_ACCESS);
});

test('route access: a server with a table refuses to register an unclassified route', () => {
  const http = new HttpServer({
    logger: silentLogger(),
    routeAccess: { 'GET /known': 'readonly' },
  });
  http.route(['GET'], '/known', () => {});
  assert.throws(() => http.route(['POST'], '/known', () => {}), /POST \/known has no entry/);
  assert.throws(() => http.routePrefix(['GET'], '/new/', () => {}), /GET \/new\/\* has no entry/);
});

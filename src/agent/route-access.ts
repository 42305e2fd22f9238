// The realm of every route the agent serves, in one table: HttpServer will not register a
// route this table leaves out, and test/agent/route-access.test.ts checks it against the
// router. Realms follow Mesos' agent endpoint docs (docs/endpoints/): reading is read-only,
// the operator API is read-write, the executor API is authenticated by the executor's token,
// and `/health` and `/version` need no authentication.
import type { RouteAccess } from '../runtime/index.js';

export const AGENT_ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  'POST /slave(1)/api/v1': 'readwrite',
  'POST /slave(1)/api/v1/executor': 'executor',
  'GET /slave(1)/state': 'readonly',
  'GET /slave(1)/state.json': 'readonly',
  'GET /slave(1)/flags': 'readonly',
  'GET /metrics/snapshot': 'readonly',
  'GET /slave(1)/monitor/statistics': 'readonly',
  'GET /slave(1)/monitor/statistics.json': 'readonly',
  'GET /slave(1)/containers': 'readonly',
  'GET /files/read': 'readonly',
  'GET /files/browse': 'readonly',
  'GET /files/download': 'readonly',
  'GET /slave(1)/health': 'public',
  'GET /version': 'public',
};

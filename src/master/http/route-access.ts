// The realm of every route the master serves, in one table: HttpServer will not register a
// route this table leaves out, and test/master/route-access.test.ts checks it against the
// router. Realms follow Mesos' endpoint docs (docs/endpoints/): reading state is read-only,
// changing it is read-write, `/health`, `/version` and `/redirect` need no authentication,
// and neither do the web UI's static files (it asks for credentials when its calls get 401).
import type { RouteAccess } from '../../runtime/index.js';

export const MASTER_ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  // The scheduler API: --authenticate_http_frameworks.
  'POST /master/api/v1/scheduler': 'framework',
  // Agents subscribe and send updates here: --authenticate_agents.
  'POST /master/api/v1/agent': 'agent',
  // The operator API changes state (and reads it): Mesos puts it in the read-write realm.
  'POST /master/api/v1': 'readwrite',

  'GET /master/state': 'readonly',
  'GET /master/state.json': 'readonly',
  'GET /master/state-summary': 'readonly',
  'GET /master/frameworks': 'readonly',
  'GET /master/slaves': 'readonly',
  'GET /master/tasks': 'readonly',
  'GET /master/tasks.json': 'readonly',
  'GET /master/roles': 'readonly',
  'GET /master/roles.json': 'readonly',
  'GET /master/weights': 'readonly',
  'PUT /master/weights': 'readwrite',
  'GET /master/quota': 'readonly',
  'POST /master/quota': 'readwrite',
  'DELETE /master/quota/*': 'readwrite',
  'GET /master/maintenance/schedule': 'readonly',
  'POST /master/maintenance/schedule': 'readwrite',
  'GET /master/maintenance/status': 'readonly',
  'POST /master/machine/down': 'readwrite',
  'POST /master/machine/up': 'readwrite',
  'POST /master/teardown': 'readwrite',
  'POST /master/reserve': 'readwrite',
  'POST /master/unreserve': 'readwrite',
  'POST /master/create-volumes': 'readwrite',
  'POST /master/destroy-volumes': 'readwrite',
  'GET /master/flags': 'readonly',
  'GET /metrics/snapshot': 'readonly',
  'GET /metrics': 'readonly',
  // Changes the log level for a while.
  'GET /logging/toggle': 'readwrite',

  'GET /files/read': 'readonly',
  'GET /files/browse': 'readonly',
  'GET /files/download': 'readonly',
  'GET /files/debug': 'readonly',

  // An agent's endpoints through the master: reading is read-only, calls are read-write.
  'GET /master/agents/*': 'readonly',
  'POST /master/agents/*': 'readwrite',

  'GET /master/health': 'public',
  'GET /version': 'public',
  'GET /master/redirect': 'public',
  'POST /master/redirect': 'public',
  'GET /': 'public',
  'GET /index.html': 'public',
  'GET /assets/*': 'public',
};

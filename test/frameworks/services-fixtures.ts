// Fixtures shared by the services framework's unit tests.
import type { Instance } from '../../src/frameworks/services/instance.js';

/** One staging instance of /web on agent a1, with no ports yet. */
export const INSTANCE = {
  id: 'web.1',
  appId: '/web',
  configVersion: 'v1',
  agentId: 'a1',
  ip: '127.0.0.1',
  hostname: 'h1',
  attributes: {},
  ports: [],
  hasHealthCheck: false,
  state: 'TASK_STAGING',
  healthy: undefined,
  isKillWanted: false,
  killSentAtMs: undefined,
  stagedAtMs: 0,
  startedAtMs: undefined,
} as Instance;

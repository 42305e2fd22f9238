// Every call of the master's operator API (WIRE §6.1) and every legacy endpoint (WIRE §7.2)
// answers on a real master, as the table there says: a table of one request per call or
// route, in an order that leaves each step something to act on (reserve before unreserve,
// a schedule before machine/down), sent to a master with two agents. The test fails listing
// every step that did not get its answer, 404 and 501 (not there) first.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import { MASTER_CALL_TYPES } from '../../src/wire/index.js';
import { type Cluster, getState, startCluster, waitFor } from './harness.js';

type Body = { readonly json: unknown } | { readonly form: Record<string, string> };

interface Step {
  /** A call type of §6.1 (`GET_HEALTH`) or a route of §7.2 (`GET /master/state`). */
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly body?: Body;
  /** The statuses that mean it answered as WIRE says. */
  readonly expect: readonly number[];
}

const call = (type: string, body: Record<string, unknown> = {}, expect = [200]): Step => ({
  name: type,
  method: 'POST',
  path: '/api/v1',
  body: { json: { type, ...body } },
  expect,
});

const route = (method: string, path: string, expect: number[], body?: Body): Step => ({
  name: `${method} ${path.split('?')[0]}`,
  method,
  path,
  expect,
  ...(body !== undefined ? { body } : {}),
});

/** A dynamic reservation of `name` for role r1, as the wire writes it. */
function reserved(name: string, value: number, extra: Record<string, unknown> = {}) {
  return {
    name,
    type: 'SCALAR',
    scalar: { value },
    reservations: [{ type: 'DYNAMIC', role: 'r1' }],
    ...extra,
  };
}

const volume = (sizeMb: number) =>
  reserved('disk', sizeMb, {
    disk: { persistence: { id: 'cov-vol' }, volume: { mode: 'RW', container_path: 'data' } },
  });

/** Sends a step; the status and the start of the answer. */
async function send(base: string, step: Step): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (step.body !== undefined && 'json' in step.body) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(step.body.json);
  } else if (step.body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(step.body.form).toString();
  }
  const controller = new AbortController();
  const response = await fetch(new URL(step.path, base), {
    method: step.method,
    headers,
    ...(body !== undefined ? { body } : {}),
    redirect: 'manual',
    signal: AbortSignal.any([controller.signal, AbortSignal.timeout(30_000)]),
  });
  // SUBSCRIBE is a stream that does not end: its first chunk is enough.
  const reader = response.body?.getReader();
  const first = reader === undefined ? undefined : await reader.read();
  controller.abort();
  await reader?.cancel().catch(() => undefined);
  const text = first?.value === undefined ? '' : Buffer.from(first.value).toString('utf8');
  return { status: response.status, text: text.slice(0, 200) };
}

describe('the operator API and the legacy endpoints, complete', () => {
  let cluster: Cluster;
  let logDir: string;
  before(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'agora-cov-log-'));
    cluster = await startCluster({
      agents: 2,
      agentResources: 'cpus:2;mem:1024;disk:1024',
      masterArgs: ['--log_dir', logDir],
    });
  });
  after(async () => {
    await cluster?.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  test('every call of WIRE §6.1 and every route of §7.2 answers as WIRE says', async () => {
    const state = await getState(cluster.masterUrl);
    const [a1, a2] = state.slaves;
    assert.ok(a1 !== undefined && a2 !== undefined, 'two agents');
    // A framework to list, to tear down, and one to tear down by the legacy route.
    const frameworks = await Promise.all(
      ['cov-1', 'cov-2'].map((name) =>
        subscribe({ master: cluster.masterUrl, frameworkInfo: { user: 'test', name } }),
      ),
    );
    const [f1, f2] = frameworks;
    assert.ok(f1 !== undefined && f2 !== undefined);
    // Their offers would hold the agents' resources from the operator's calls.
    await Promise.all(frameworks.map((f) => f.suppress()));
    const agent_id = { value: a1.id };
    const machine = { hostname: a1.hostname, ip: '127.0.0.1' };
    const schedule = {
      windows: [
        {
          machine_ids: [machine],
          unavailability: {
            start: { nanoseconds: Date.now() * 1e6 },
            duration: { nanoseconds: 3.6e12 },
          },
        },
      ],
    };
    const form = (fields: Record<string, string>): Body => ({ form: fields });

    const steps: Step[] = [
      // §6.1, the queries.
      call('GET_HEALTH'),
      call('GET_FLAGS'),
      call('GET_VERSION'),
      call('GET_METRICS', { get_metrics: { timeout: { nanoseconds: 1e9 } } }),
      call('GET_LOGGING_LEVEL'),
      call('SET_LOGGING_LEVEL', {
        set_logging_level: { level: 1, duration: { nanoseconds: 1e9 } },
      }),
      call('LIST_FILES', { list_files: { path: '/master/log' } }),
      call('READ_FILE', { read_file: { path: '/master/log', offset: 0, length: 10 } }),
      call('GET_STATE'),
      call('GET_AGENTS'),
      call('GET_FRAMEWORKS'),
      call('GET_EXECUTORS'),
      call('GET_OPERATIONS'),
      call('GET_TASKS'),
      call('GET_ROLES'),
      call('GET_WEIGHTS'),
      call('UPDATE_WEIGHTS', { update_weights: { weight_infos: [{ role: 'r1', weight: 2 }] } }),
      call('GET_MASTER'),
      call('SUBSCRIBE'),
      // Reservations and volumes on the first agent, each undone by the next.
      call(
        'RESERVE_RESOURCES',
        { reserve_resources: { agent_id, resources: [reserved('cpus', 0.5)] } },
        [202],
      ),
      call(
        'UNRESERVE_RESOURCES',
        { unreserve_resources: { agent_id, resources: [reserved('cpus', 0.5)] } },
        [202],
      ),
      call(
        'RESERVE_RESOURCES',
        { reserve_resources: { agent_id, resources: [reserved('disk', 64)] } },
        [202],
      ),
      call('CREATE_VOLUMES', { create_volumes: { agent_id, volumes: [volume(32)] } }, [202]),
      call(
        'GROW_VOLUME',
        { grow_volume: { agent_id, volume: volume(32), addition: reserved('disk', 16) } },
        [202],
      ),
      call(
        'SHRINK_VOLUME',
        { shrink_volume: { agent_id, volume: volume(48), subtract: { value: 16 } } },
        [202],
      ),
      call('DESTROY_VOLUMES', { destroy_volumes: { agent_id, volumes: [volume(32)] } }, [202]),
      // Quota, the current and the deprecated calls.
      call('GET_QUOTA'),
      call('UPDATE_QUOTA', {
        update_quota: {
          force: true,
          quota_configs: [{ role: 'r1', guarantees: { cpus: { value: 0.5 } } }],
        },
      }),
      call('SET_QUOTA', {
        set_quota: {
          quota_request: {
            force: true,
            role: 'r2',
            guarantee: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } }],
          },
        },
      }),
      call('REMOVE_QUOTA', { remove_quota: { role: 'r2' } }),
      // The agents: the first deactivated and back, the second drained and then gone.
      call('DEACTIVATE_AGENT', { deactivate_agent: { agent_id } }),
      call('REACTIVATE_AGENT', { reactivate_agent: { agent_id } }),
      call('TEARDOWN', { teardown: { framework_id: { value: f1.frameworkId.value } } }),

      // §7.2.
      route('GET', '/master/state', [200]),
      route('GET', '/master/state-summary', [200]),
      route('GET', `/master/frameworks?framework_id=${f2.frameworkId.value}`, [200]),
      route('GET', `/master/slaves?slave_id=${a1.id}`, [200]),
      route('GET', '/master/tasks?limit=10&offset=0&order=asc', [200]),
      route('GET', '/master/roles', [200]),
      route('GET', '/master/weights', [200]),
      route('PUT', '/master/weights', [200], { json: [{ role: 'r1', weight: 3 }] }),
      route('GET', '/master/flags', [200]),
      route('GET', '/master/health', [200]),
      route(
        'POST',
        '/master/reserve',
        [202],
        form({ slaveId: a1.id, resources: JSON.stringify([reserved('cpus', 0.5)]) }),
      ),
      route(
        'POST',
        '/master/unreserve',
        [202],
        form({ slaveId: a1.id, resources: JSON.stringify([reserved('cpus', 0.5)]) }),
      ),
      route(
        'POST',
        '/master/create-volumes',
        [202],
        form({ slaveId: a1.id, volumes: JSON.stringify([volume(32)]) }),
      ),
      route(
        'POST',
        '/master/destroy-volumes',
        [202],
        form({ slaveId: a1.id, volumes: JSON.stringify([volume(32)]) }),
      ),
      route('POST', '/master/quota', [200], {
        json: {
          force: true,
          role: 'r3',
          guarantee: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } }],
        },
      }),
      route('DELETE', '/master/quota/r3', [200]),
      route('GET', '/master/redirect', [307]),
      route('POST', '/master/teardown', [200], form({ frameworkId: f2.frameworkId.value })),

      // The second agent drained, then gone.
      call('DRAIN_AGENT', {
        drain_agent: { agent_id: { value: a2.id }, max_grace_period: { seconds: 0 } },
      }),
      call('MARK_AGENT_GONE', { mark_agent_gone: { agent_id: { value: a2.id } } }),
      // Last: a machine down removes its agents (both agents run on this one).
      call('UPDATE_MAINTENANCE_SCHEDULE', { update_maintenance_schedule: { schedule } }),
      call('GET_MAINTENANCE_SCHEDULE'),
      call('GET_MAINTENANCE_STATUS'),
      call('START_MAINTENANCE', { start_maintenance: { machines: [machine] } }),
      call('STOP_MAINTENANCE', { stop_maintenance: { machines: [machine] } }),
      call('UPDATE_MAINTENANCE_SCHEDULE', { update_maintenance_schedule: { schedule: {} } }),
      route('POST', '/master/maintenance/schedule', [200], { json: schedule }),
      route('GET', '/master/maintenance/schedule', [200]),
      route('GET', '/master/maintenance/status', [200]),
      route('POST', '/master/machine/down', [200], { json: [machine] }),
      route('POST', '/master/machine/up', [200], { json: [machine] }),
      route('POST', '/master/maintenance/schedule', [200], { json: {} }),
    ];

    const covered = new Set(steps.filter((s) => s.path === '/api/v1').map((s) => s.name));
    assert.deepEqual(
      MASTER_CALL_TYPES.filter((type) => !covered.has(type)),
      [],
      'a step for every call of master.proto',
    );

    const failures: string[] = [];
    for (const step of steps) {
      const { status, text } = await send(cluster.masterUrl, step);
      if (!step.expect.includes(status))
        failures.push(
          `${step.name}: ${status}, expected ${step.expect.join(' or ')} (${text.trim()})`,
        );
    }
    const missing = (f: string) => / (404|501),/.test(f);
    assert.deepEqual(
      [...failures.filter(missing), ...failures.filter((f) => !missing(f))],
      [],
      'calls and routes that did not answer as WIRE says (404/501: not there)',
    );
    // What the steps did is visible where an operator would look.
    await waitFor('the second agent gone', async () => {
      const now = await getState(cluster.masterUrl);
      return now.slaves.some((s) => s.id === a2.id) ? undefined : true;
    });
    await Promise.all(frameworks.map((f) => f.close({ drainMs: 0 })));
  });
});

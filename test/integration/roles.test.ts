// Weights, quota and reservations through the operator API of a real master,
// as an operator's tools (curl, dashboards) use them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import {
  type Cluster,
  type Daemon,
  defer,
  getState,
  runCli,
  startCluster,
  startDaemon,
  waitFor,
} from './harness.js';

async function operator(master: string, call: unknown): Promise<{ status: number; body: string }> {
  const response = await fetch(new URL('/api/v1', master), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(call),
  });
  return { status: response.status, body: await response.text() };
}

async function json<T>(master: string, path: string): Promise<T> {
  return (await (await fetch(new URL(path, master))).json()) as T;
}

interface RolesJson {
  roles: {
    name: string;
    weight: number;
    quota: {
      guarantee: Record<string, number>;
      limit: Record<string, number>;
      consumed: Record<string, number>;
    };
    allocated: Record<string, number>;
    offered: Record<string, number>;
    reserved: Record<string, number>;
    frameworks: string[];
  }[];
}

describe('roles, weights and quota through the operator API', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({
      agents: 1,
      agentResources: 'cpus:4;mem:4096;disk:1024;ports:[31000-31010]',
    });
  });
  after(() => cluster?.stop());

  test('UPDATE_WEIGHTS sets weights that GET_WEIGHTS, /weights and /roles show', async () => {
    const update = await operator(cluster.masterUrl, {
      type: 'UPDATE_WEIGHTS',
      update_weights: {
        weight_infos: [
          { role: 'eng', weight: 2.5 },
          { role: 'ops', weight: 0.5 },
        ],
      },
    });
    assert.equal(update.status, 200, update.body);
    const got = JSON.parse((await operator(cluster.masterUrl, { type: 'GET_WEIGHTS' })).body);
    assert.deepEqual(got, {
      type: 'GET_WEIGHTS',
      get_weights: {
        weight_infos: [
          { weight: 2.5, role: 'eng' },
          { weight: 0.5, role: 'ops' },
        ],
      },
    });
    assert.deepEqual(await json(cluster.masterUrl, '/master/weights'), [
      { weight: 2.5, role: 'eng' },
      { weight: 0.5, role: 'ops' },
    ]);
    const roles = await json<RolesJson>(cluster.masterUrl, '/master/roles');
    assert.equal(roles.roles.find((r) => r.name === 'eng')?.weight, 2.5);
  });

  test('bad weight and quota updates get 400 naming the field, and change nothing', async () => {
    const cases: [call: unknown, field: RegExp][] = [
      [
        { type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'eng', weight: 0 }] } },
        /update_weights\.weight_infos\[0\]\.weight: must be a positive number/,
      ],
      [
        { type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: '/bad', weight: 1 }] } },
        /update_weights\.weight_infos\[0\]\.role/,
      ],
      [{ type: 'UPDATE_WEIGHTS' }, /update_weights: required for a UPDATE_WEIGHTS call/],
      [
        {
          type: 'UPDATE_QUOTA',
          update_quota: { quota_configs: [{ role: 'dev', limits: { cpus: { value: -1 } } }] },
        },
        /update_quota\.quota_configs\[0\]\.limits\.cpus\.value/,
      ],
      [
        {
          type: 'UPDATE_QUOTA',
          update_quota: {
            quota_configs: [
              { role: 'dev', guarantees: { cpus: { value: 3 } }, limits: { cpus: { value: 2 } } },
            ],
          },
        },
        /guarantees\.cpus: guarantee 3 exceeds the limit 2/,
      ],
      [
        {
          type: 'UPDATE_QUOTA',
          update_quota: { quota_configs: [{ role: 'dev', limits: { ports: { value: 5 } } }] },
        },
        /not 'ports'/,
      ],
      [
        { type: 'UPDATE_QUOTA', update_quota: { quota_configs: [{ role: 'x' }, { role: 'x' }] } },
        /quota_configs\[1\]\.role: role 'x' appears more than once/,
      ],
      [
        { type: 'REMOVE_QUOTA', remove_quota: { role: 'nobody' } },
        /remove_quota\.role: role 'nobody' has no quota/,
      ],
    ];
    for (const [call, field] of cases) {
      const reply = await operator(cluster.masterUrl, call);
      assert.equal(reply.status, 400, JSON.stringify(call));
      assert.match(reply.body, field, JSON.stringify(call));
    }
    const quota = JSON.parse((await operator(cluster.masterUrl, { type: 'GET_QUOTA' })).body);
    assert.deepEqual(quota.get_quota.status.configs, []);
  });

  test('UPDATE_QUOTA sets guarantees and limits that GET_QUOTA, /quota and /roles show, and the allocator enforces', async (t) => {
    const update = await operator(cluster.masterUrl, {
      type: 'UPDATE_QUOTA',
      update_quota: {
        quota_configs: [
          {
            role: 'dev',
            guarantees: { cpus: { value: 1 } },
            limits: { cpus: { value: 2 }, mem: { value: 1024 } },
          },
        ],
      },
    });
    assert.equal(update.status, 200, update.body);
    const quota = JSON.parse((await operator(cluster.masterUrl, { type: 'GET_QUOTA' })).body);
    assert.deepEqual(quota.get_quota.status.configs, [
      {
        role: 'dev',
        guarantees: { cpus: { value: 1 } },
        limits: { cpus: { value: 2 }, mem: { value: 1024 } },
      },
    ]);
    assert.deepEqual(
      (await json<{ configs: unknown[] }>(cluster.masterUrl, '/master/quota')).configs,
      quota.get_quota.status.configs,
    );

    // A framework in 'dev' is offered no more than the limit, though the agent has more.
    const framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: { user: 'test', name: 'dev-fw', role: 'dev' },
    });
    defer(t, () => framework.teardown().finally(() => framework.close()));
    // The subscription must stay open while /roles is read: closing it would discard the offer.
    const events = framework.events();
    let offered: { cpus: number; mem: number } | undefined;
    for (let next = await events.next(); !next.done; next = await events.next()) {
      const event = next.value;
      if (event.type !== 'OFFERS') continue;
      const resources = event.offers.offers.flatMap((o) => o.resources);
      const sum = (name: string) =>
        resources
          .filter((r) => r.name === name)
          .reduce((total, r) => total + (r.scalar?.value ?? 0), 0);
      offered = { cpus: sum('cpus'), mem: sum('mem') };
      break;
    }
    assert.deepEqual(offered, { cpus: 2, mem: 1024 });
    const roles = await json<RolesJson>(cluster.masterUrl, '/master/roles');
    const dev = roles.roles.find((r) => r.name === 'dev');
    assert.deepEqual(dev?.quota.guarantee, { cpus: 1 });
    assert.deepEqual(dev?.quota.limit, { cpus: 2, mem: 1024 });
    assert.deepEqual(dev?.offered, { cpus: 2, mem: 1024, disk: 1024 }, 'disk has no limit');
    assert.deepEqual(dev?.frameworks, [framework.frameworkId.value]);
    const metrics = await json<Record<string, number>>(cluster.masterUrl, '/metrics/snapshot');
    assert.equal(metrics['allocator/mesos/quota/roles/dev/resources/cpus/limit'], 2);
    assert.equal(metrics['allocator/mesos/quota/roles/dev/resources/cpus/guarantee'], 1);
  });

  test('a guarantee the cluster cannot hold is refused with 409 unless forced', async () => {
    const call = (force: boolean) => ({
      type: 'UPDATE_QUOTA',
      update_quota: {
        force,
        quota_configs: [{ role: 'huge', guarantees: { cpus: { value: 400 } } }],
      },
    });
    const refused = await operator(cluster.masterUrl, call(false));
    assert.equal(refused.status, 409);
    assert.match(refused.body, /guarantees would total 401 cpus, more than the cluster's 4/);
    assert.equal((await operator(cluster.masterUrl, call(true))).status, 200);
    assert.equal(
      (await operator(cluster.masterUrl, { type: 'REMOVE_QUOTA', remove_quota: { role: 'huge' } }))
        .status,
      200,
    );
  });

  test('agora run still works in the default role while quotas exist', async () => {
    const { code } = await runCli(['run', '--master', cluster.masterUrl, '--', 'true']).result;
    assert.equal(code, 0);
  });
});

describe('dynamic reservations', () => {
  let workDir: string;
  let master: Daemon;
  let agent: Daemon;
  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'agora-reserve-'));
    master = await startDaemon('master', [
      'master',
      '--port',
      '0',
      '--registry',
      'in_memory',
      '--allocation_interval',
      '100ms',
    ]);
    agent = await startDaemon('agent', [
      'agent',
      '--master',
      master.url,
      '--port',
      '0',
      '--work_dir',
      join(workDir, 'agent'),
      '--resources',
      'cpus:4;mem:4096;disk:100;ports:[31000-31001]',
    ]);
    await waitFor('the agent to register', async () =>
      (await getState(master.url)).slaves.length === 1 ? true : undefined,
    );
  });
  after(async () => {
    await agent?.stop();
    await master?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  const reserved = (role: string, principal?: string) => [
    {
      name: 'cpus',
      type: 'SCALAR',
      scalar: { value: 2 },
      reservations: [{ type: 'DYNAMIC', role, ...(principal ? { principal } : {}) }],
    },
    {
      name: 'mem',
      type: 'SCALAR',
      scalar: { value: 1024 },
      reservations: [{ type: 'DYNAMIC', role, ...(principal ? { principal } : {}) }],
    },
  ];

  test("RESERVE_RESOURCES reserves an agent's free resources for a role, and they survive an agent restart", async () => {
    const agentIdValue = (await getState(master.url)).slaves[0]?.id ?? '';
    const bad = await operator(master.url, {
      type: 'RESERVE_RESOURCES',
      reserve_resources: {
        agent_id: { value: agentIdValue },
        resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }],
      },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /DYNAMIC reservation/);
    const tooMuch = await operator(master.url, {
      type: 'RESERVE_RESOURCES',
      reserve_resources: {
        agent_id: { value: agentIdValue },
        resources: [{ ...reserved('eng')[0], scalar: { value: 40 } }],
      },
    });
    assert.equal(tooMuch.status, 409);
    const ok = await operator(master.url, {
      type: 'RESERVE_RESOURCES',
      reserve_resources: { agent_id: { value: agentIdValue }, resources: reserved('eng', 'ops') },
    });
    assert.equal(ok.status, 202, ok.body);
    const slaves = await json<{
      slaves: {
        reserved_resources: Record<string, Record<string, number>>;
        unreserved_resources: Record<string, number>;
      }[];
    }>(master.url, '/master/slaves');
    assert.deepEqual(slaves.slaves[0]?.reserved_resources.eng, {
      cpus: 2,
      gpus: 0,
      mem: 1024,
      disk: 0,
    });
    assert.equal(slaves.slaves[0]?.unreserved_resources.cpus, 2);

    // An agent restart: it reports the reservation it checkpointed, and the master keeps it.
    await agent.stop();
    agent = await startDaemon('agent', [
      'agent',
      '--master',
      master.url,
      '--port',
      '0',
      '--work_dir',
      join(workDir, 'agent'),
      '--resources',
      'cpus:4;mem:4096;disk:100;ports:[31000-31001]',
    ]);
    await waitFor('the reservation to be back after the agent re-registered', async () => {
      const after = await json<{
        slaves: { active: boolean; reserved_resources: Record<string, Record<string, number>> }[];
      }>(master.url, '/master/slaves');
      return after.slaves[0]?.active === true && after.slaves[0].reserved_resources.eng?.cpus === 2
        ? true
        : undefined;
    });
  });

  test('reserved resources are offered only to their role, with their reservation', async (t) => {
    const other = await subscribe({
      master: master.url,
      frameworkInfo: { user: 'test', name: 'other', role: 'ops' },
    });
    defer(t, () => other.close());
    const eng = await subscribe({
      master: master.url,
      frameworkInfo: { user: 'test', name: 'eng', role: 'eng' },
    });
    defer(t, () => eng.close());
    for await (const event of other.events()) {
      if (event.type !== 'OFFERS') continue;
      for (const resource of event.offers.offers.flatMap((o) => o.resources))
        assert.equal(resource.role, '*', 'ops sees only unreserved resources');
      break;
    }
    for await (const event of eng.events()) {
      if (event.type !== 'OFFERS') continue;
      const reservedCpus = event.offers.offers
        .flatMap((o) => o.resources)
        .find((r) => r.name === 'cpus' && r.role === 'eng');
      if (reservedCpus === undefined) continue;
      assert.equal(reservedCpus.scalar?.value, 2);
      assert.equal(
        reservedCpus.reservation?.principal,
        'ops',
        'pre-refinement form for a framework without RESERVATION_REFINEMENT',
      );
      break;
    }
  });

  test('a framework reserves from its own offer with ACCEPT and RESERVE', async (t) => {
    const eng = await subscribe({
      master: master.url,
      frameworkInfo: { user: 'test', name: 'eng2', role: 'eng2', principal: 'eng2-principal' },
    });
    defer(t, () => eng.close());
    let reservedInOffer: number | undefined;
    for await (const event of eng.events()) {
      if (event.type !== 'OFFERS') continue;
      const [offer] = event.offers.offers;
      if (offer === undefined) continue;
      const reservedHere = offer.resources.find((r) => r.name === 'cpus' && r.role === 'eng2');
      if (reservedHere !== undefined) {
        reservedInOffer = reservedHere.scalar?.value;
        break;
      }
      // Pre-refinement form: `role` plus `reservation`, as this framework lacks RESERVATION_REFINEMENT.
      await eng.accept(
        [offer.id],
        [
          {
            type: 'RESERVE',
            reserve: {
              resources: [
                {
                  name: 'cpus',
                  type: 'SCALAR',
                  scalar: { value: 1 },
                  role: 'eng2',
                  reservation: { principal: 'eng2-principal' },
                },
              ],
            },
          },
        ],
        { refuse_seconds: 0 },
      );
    }
    assert.equal(reservedInOffer, 1, 'the next offer carries the reservation');
    const slaves = await json<{
      slaves: { reserved_resources: Record<string, Record<string, number>> }[];
    }>(master.url, '/master/slaves');
    assert.equal(slaves.slaves[0]?.reserved_resources.eng2?.cpus, 1);
  });

  test('UNRESERVE_RESOURCES gives the resources back to everyone', async () => {
    const agentIdValue = (await getState(master.url)).slaves[0]?.id ?? '';
    const reply = await operator(master.url, {
      type: 'UNRESERVE_RESOURCES',
      unreserve_resources: { agent_id: { value: agentIdValue }, resources: reserved('eng', 'ops') },
    });
    assert.equal(reply.status, 202, reply.body);
    const slaves = await json<{
      slaves: {
        reserved_resources: Record<string, unknown>;
        unreserved_resources: Record<string, number>;
      }[];
    }>(master.url, '/master/slaves');
    assert.equal(slaves.slaves[0]?.reserved_resources.eng, undefined, "eng's reservation is gone");
    assert.equal(
      slaves.slaves[0]?.unreserved_resources.cpus,
      3,
      '4 CPUs less the one eng2 still holds reserved',
    );
  });
});

describe('quota and weights in the registry', () => {
  test('survive a master restart', async (t) => {
    const workDir = mkdtempSync(join(tmpdir(), 'agora-registry-'));
    defer(t, () => rmSync(workDir, { recursive: true, force: true }));
    const args = ['master', '--port', '0', '--work_dir', workDir];
    let master = await startDaemon('master', args);
    defer(t, () => master.stop());
    await operator(master.url, {
      type: 'UPDATE_WEIGHTS',
      update_weights: { weight_infos: [{ role: 'eng', weight: 3 }] },
    });
    await operator(master.url, {
      type: 'UPDATE_QUOTA',
      update_quota: {
        force: true,
        quota_configs: [{ role: 'eng', limits: { cpus: { value: 8 } } }],
      },
    });
    await master.stop();
    master = await startDaemon('master', args);
    const weights = JSON.parse((await operator(master.url, { type: 'GET_WEIGHTS' })).body);
    assert.deepEqual(weights.get_weights.weight_infos, [{ weight: 3, role: 'eng' }]);
    const quota = JSON.parse((await operator(master.url, { type: 'GET_QUOTA' })).body);
    assert.deepEqual(quota.get_quota.status.configs, [
      { role: 'eng', limits: { cpus: { value: 8 } } },
    ]);
  });
});

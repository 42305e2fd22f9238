// The scheduler calls of #8 section 3 and persistent volumes, as a user of a real master
// and real agents sees them: task groups refused by an agent without a default executor,
// operation feedback, volumes that outlive tasks and agent restarts, offer constraints.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SchedulerConnection, SubscriptionError, subscribe } from '../../src/sdk/index.js';
import { type Event, executorId, type Offer, type Resource, taskId } from '../../src/wire/index.js';
import { EventQueue } from './events.js';
import { type Cluster, startCluster, waitFor } from './harness.js';

async function operator(master: string, call: unknown): Promise<{ status: number; body: string }> {
  const response = await fetch(new URL('/api/v1', master), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(call),
  });
  return { status: response.status, body: await response.text() };
}

async function form(master: string, path: string, fields: Record<string, string>) {
  const response = await fetch(new URL(path, master), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: response.status, body: await response.text() };
}

interface SlavesJson {
  slaves: {
    id: string;
    hostname: string;
    active: boolean;
    reregistered_time?: number;
    reserved_resources_full: Record<string, Resource[]>;
  }[];
}

async function slaves(master: string): Promise<SlavesJson> {
  return (await (await fetch(new URL('/master/slaves', master))).json()) as SlavesJson;
}

/** Waits for an event the predicate picks out of everything the framework has seen. */
function seen<T>(events: EventQueue, what: string, pick: (event: Event) => T | undefined) {
  return waitFor(what, () => {
    for (const event of events.seen) {
      const value = pick(event);
      if (value !== undefined) return value;
    }
    return undefined;
  });
}

function volumeOf(size: number, id: string): Resource {
  return {
    name: 'disk',
    type: 'SCALAR',
    scalar: { value: size },
    reservations: [{ type: 'STATIC', role: 'eng' }],
    disk: {
      persistence: { id, principal: 'eng-op' },
      volume: { container_path: 'data', mode: 'RW' },
    },
  };
}

const hasVolume = (offer: Offer, id: string) =>
  offer.resources.some((r) => r.disk?.persistence?.id === id);

describe('scheduler calls and volumes with real processes', () => {
  let cluster: Cluster;
  const frameworks: SchedulerConnection[] = [];
  before(async () => {
    cluster = await startCluster({
      agents: 1,
      agentResources: 'cpus:2;mem:1024;disk:256;disk(eng):512',
    });
  });
  after(async () => {
    for (const framework of frameworks) await framework.close({ drainMs: 0 });
    await cluster?.stop();
  });

  async function engFramework(name: string): Promise<[SchedulerConnection, EventQueue]> {
    const framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: {
        user: 'u',
        name,
        roles: ['eng'],
        principal: 'eng-op',
        capabilities: [{ type: 'MULTI_ROLE' }, { type: 'RESERVATION_REFINEMENT' }],
      },
    });
    frameworks.push(framework);
    return [framework, new EventQueue(framework)];
  }

  test('a task group is refused by an agent without a default executor: TASK_FAILED for each task, then FAILURE', async () => {
    const [framework, events] = await engFramework('group');
    const [offer] = await events.offers();
    assert.ok(offer !== undefined);
    const resources = (cpus: number, mem: number, disk?: number): Resource[] => [
      { name: 'cpus', type: 'SCALAR', scalar: { value: cpus } },
      { name: 'mem', type: 'SCALAR', scalar: { value: mem } },
      ...(disk !== undefined
        ? [{ name: 'disk', type: 'SCALAR' as const, scalar: { value: disk } }]
        : []),
    ];
    await framework.accept(
      [offer.id],
      [
        {
          type: 'LAUNCH_GROUP',
          launch_group: {
            executor: {
              type: 'DEFAULT',
              executor_id: executorId('pod-1'),
              framework_id: framework.frameworkId,
              resources: resources(0.1, 32, 10),
            },
            task_group: {
              tasks: ['web', 'sidecar'].map((name) => ({
                name,
                task_id: taskId(name),
                agent_id: offer.agent_id,
                resources: resources(0.2, 64),
                command: { value: 'sleep 30' },
              })),
            },
          },
        },
      ],
    );
    for (const name of ['web', 'sidecar']) {
      const failed = await events.update(name, 'TASK_FAILED');
      assert.equal(failed.source, 'SOURCE_AGENT');
      assert.equal(failed.reason, 'REASON_CONTAINER_LAUNCH_FAILED');
      assert.match(failed.message ?? '', /default executor/);
      assert.equal(failed.executor_id?.value, 'pod-1');
    }
    const failure = await seen(events, 'FAILURE for the executor', (e) =>
      e.type === 'FAILURE' && e.failure.executor_id?.value === 'pod-1' ? e.failure : undefined,
    );
    assert.equal(failure.status, -1);
    assert.equal(failure.agent_id?.value, offer.agent_id.value);
    await framework.teardown();
  });

  test('operators create a volume on reserved disk; it is offered to its role, survives an agent restart, and goes with /master/destroy-volumes', async () => {
    const [agent] = cluster.agents;
    assert.ok(agent !== undefined);
    const {
      slaves: [slave],
    } = await slaves(cluster.masterUrl);
    assert.ok(slave !== undefined);
    const created = await operator(cluster.masterUrl, {
      type: 'CREATE_VOLUMES',
      create_volumes: { agent_id: { value: slave.id }, volumes: [volumeOf(200, 'op-vol')] },
    });
    assert.equal(created.status, 202, created.body);
    const tooBig = await operator(cluster.masterUrl, {
      type: 'CREATE_VOLUMES',
      create_volumes: { agent_id: { value: slave.id }, volumes: [volumeOf(400, 'too-big')] },
    });
    assert.equal(tooBig.status, 409, tooBig.body);
    const unreserved = await operator(cluster.masterUrl, {
      type: 'CREATE_VOLUMES',
      create_volumes: {
        agent_id: { value: slave.id },
        volumes: [{ ...volumeOf(10, 'plain'), reservations: undefined }],
      },
    });
    assert.equal(unreserved.status, 400, unreserved.body);
    assert.match(unreserved.body, /cannot be created from unreserved resources/);

    const [framework, events] = await engFramework('volumes');
    const offer = await waitFor('an offer holding the volume', async () => {
      const offers = await events.offers();
      const found = offers.find((o) => hasVolume(o, 'op-vol'));
      if (found === undefined)
        await framework.decline(
          offers.map((o) => o.id),
          { refuse_seconds: 0 },
        );
      return found;
    });
    await framework.decline([offer.id], { refuse_seconds: 0 });

    // The agent restarts with the same work dir: its checkpoint brings the volume back.
    await agent.stop();
    const restarted = await cluster.addAgent('agent-1b', [], `${cluster.workDir}/agent-1`);
    cluster.agents.push(restarted);
    // Re-registered (not the old record of the stopped agent, which still holds the volume).
    await waitFor('the agent back with its volume', async () => {
      const [back] = (await slaves(cluster.masterUrl)).slaves;
      const eng = back?.reserved_resources_full.eng ?? [];
      return back?.id === slave.id &&
        back.active &&
        back.reregistered_time !== undefined &&
        eng.some((r) => r.disk?.persistence?.id === 'op-vol')
        ? true
        : undefined;
    });

    const destroyed = await form(cluster.masterUrl, '/master/destroy-volumes', {
      slaveId: slave.id,
      volumes: JSON.stringify([volumeOf(200, 'op-vol')]),
    });
    assert.equal(destroyed.status, 202, destroyed.body);
    const missing = await form(cluster.masterUrl, '/master/destroy-volumes', {
      volumes: '[]',
    });
    assert.equal(missing.status, 400);
    assert.match(missing.body, /Missing 'slaveId' query parameter in the request body/);
    const [after] = (await slaves(cluster.masterUrl)).slaves;
    assert.ok(!(after?.reserved_resources_full.eng ?? []).some((r) => r.disk !== undefined));
    await framework.teardown();
  });

  test('the legacy /master/reserve, /master/create-volumes and /master/unreserve take Mesos forms', async () => {
    const {
      slaves: [slave],
    } = await slaves(cluster.masterUrl);
    assert.ok(slave !== undefined);
    const dynamic: Resource = {
      name: 'disk',
      type: 'SCALAR',
      scalar: { value: 50 },
      reservations: [{ type: 'DYNAMIC', role: 'ops', principal: 'admin' }],
    };
    const reserved = await form(cluster.masterUrl, '/master/reserve', {
      slaveId: slave.id,
      resources: JSON.stringify([dynamic]),
    });
    assert.equal(reserved.status, 202, reserved.body);
    const volume: Resource = {
      ...dynamic,
      disk: {
        persistence: { id: 'legacy-vol', principal: 'admin' },
        volume: { container_path: 'data', mode: 'RW' },
      },
    };
    const created = await form(cluster.masterUrl, '/master/create-volumes', {
      slaveId: slave.id,
      volumes: JSON.stringify([volume]),
    });
    assert.equal(created.status, 202, created.body);
    const unreserveVolume = await form(cluster.masterUrl, '/master/unreserve', {
      slaveId: slave.id,
      resources: JSON.stringify([volume]),
    });
    assert.equal(unreserveVolume.status, 400, 'a volume must be destroyed before unreserving');
    const destroyed = await form(cluster.masterUrl, '/master/destroy-volumes', {
      slaveId: slave.id,
      volumes: JSON.stringify([volume]),
    });
    assert.equal(destroyed.status, 202, destroyed.body);
    const unreserved = await form(cluster.masterUrl, '/master/unreserve', {
      slaveId: slave.id,
      resources: JSON.stringify([dynamic]),
    });
    assert.equal(unreserved.status, 202, unreserved.body);
    const badJson = await form(cluster.masterUrl, '/master/reserve', {
      slaveId: slave.id,
      resources: '[{',
    });
    assert.equal(badJson.status, 400);
    assert.match(badJson.body, /Error in parsing 'resources' query parameter/);
  });

  test('a framework creates a volume with feedback, acknowledges it, and its task leaves the volume behind', async () => {
    const [framework, events] = await engFramework('feedback');
    const offer = await waitFor('an offer with reserved disk', async () => {
      const offers = await events.offers();
      return offers.find((o) =>
        o.resources.some((r) => r.name === 'disk' && r.reservations !== undefined),
      );
    });
    const volume = { ...volumeOf(100, 'fw-vol'), allocation_info: { role: 'eng' } };
    await framework.accept(
      [offer.id],
      [
        { type: 'CREATE', id: { value: 'create-1' }, create: { volumes: [volume] } },
        {
          type: 'LAUNCH',
          launch: {
            task_infos: [
              {
                name: 'writer',
                task_id: taskId('writer'),
                agent_id: offer.agent_id,
                resources: [
                  { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
                  { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
                  volume,
                ],
                command: { value: 'true' },
              },
            ],
          },
        },
      ],
      { refuse_seconds: 0 },
    );
    const status = await seen(events, 'the CREATE operation status', (e) =>
      e.type === 'UPDATE_OPERATION_STATUS' ? e.update_operation_status.status : undefined,
    );
    assert.equal(status.state, 'OPERATION_FINISHED');
    assert.equal(status.operation_id?.value, 'create-1');
    const listed = JSON.parse((await operator(cluster.masterUrl, { type: 'GET_OPERATIONS' })).body);
    assert.equal(listed.get_operations.operations?.[0]?.info.id.value, 'create-1');
    await framework.call({
      type: 'ACKNOWLEDGE_OPERATION_STATUS',
      acknowledge_operation_status: {
        agent_id: offer.agent_id,
        operation_id: { value: 'create-1' },
        uuid: status.uuid?.value ?? '',
      },
    });
    await waitFor('the operation to be retired', async () => {
      const after = JSON.parse(
        (await operator(cluster.masterUrl, { type: 'GET_OPERATIONS' })).body,
      );
      return after.get_operations.operations.length === 0 ? true : undefined;
    });
    await events.update('writer', 'TASK_FINISHED');
    const again = await waitFor('the volume offered again after its task ended', async () => {
      const offers = await events.offers();
      return offers.find((o) => hasVolume(o, 'fw-vol'));
    });
    assert.ok(again !== undefined);
    await framework.teardown();
  });

  test('SHUTDOWN, MESSAGE and REQUEST answer 202 and reach the agent (which runs no custom executor)', async () => {
    const [framework] = await engFramework('messages');
    const {
      slaves: [slave],
    } = await slaves(cluster.masterUrl);
    assert.ok(slave !== undefined);
    const agentId = { value: slave.id } as Offer['agent_id'];
    await framework.call({
      type: 'MESSAGE',
      message: { agent_id: agentId, executor_id: executorId('nobody'), data: 'aGk=' },
    });
    await framework.call({
      type: 'SHUTDOWN',
      shutdown: { agent_id: agentId, executor_id: executorId('nobody') },
    });
    await framework.call({ type: 'REQUEST', request: { requests: [] } });
    const agent = cluster.agents.at(-1);
    assert.ok(agent !== undefined);
    await waitFor('the agent to log both', () =>
      agent.lines.some((l) => String(l.msg).startsWith('framework message')) &&
      agent.lines.some((l) => String(l.msg).startsWith('shutdown of an executor'))
        ? true
        : undefined,
    );
    await framework.teardown();
  });
});

describe('offer constraints with real agents', () => {
  let cluster: Cluster;
  const frameworks: SchedulerConnection[] = [];
  before(async () => {
    cluster = await startCluster({ agents: 0, agentResources: 'cpus:1;mem:512' });
    await cluster.addAgent('rack-1', ['--attributes', 'rack:r1']);
    await cluster.addAgent('rack-2', ['--attributes', 'rack:r2']);
    await waitFor('both agents', async () => {
      const state = (await slaves(cluster.masterUrl)).slaves;
      return state.length === 2 ? true : undefined;
    });
  });
  after(async () => {
    for (const framework of frameworks) await framework.close({ drainMs: 0 });
    await cluster?.stop();
  });

  test('a framework role is offered only the agents its constraints allow', async () => {
    const framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: {
        user: 'u',
        name: 'picky',
        roles: ['eng'],
        capabilities: [{ type: 'MULTI_ROLE' }],
      },
      offerConstraints: {
        role_constraints: {
          eng: {
            groups: [
              {
                attribute_constraints: [
                  {
                    selector: { attribute_name: 'rack' },
                    predicate: { text_matches: { regex: 'r[1]' } },
                  },
                ],
              },
            ],
          },
        },
      },
    });
    frameworks.push(framework);
    const events = new EventQueue(framework);
    const hostnames = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const offers = await events.offers();
      for (const offer of offers) {
        for (const a of offer.attributes ?? [])
          if (a.name === 'rack') hostnames.add(a.text?.value ?? '');
      }
      await framework.decline(
        offers.map((o) => o.id),
        { refuse_seconds: 0 },
      );
    }
    assert.deepEqual([...hostnames], ['r1']);
  });

  test('a hostile regex is compiled in linear time, and an invalid one refuses the subscription', async () => {
    await assert.rejects(
      subscribe({
        master: cluster.masterUrl,
        frameworkInfo: {
          user: 'u',
          name: 'bad',
          roles: ['eng'],
          capabilities: [{ type: 'MULTI_ROLE' }],
        },
        offerConstraints: {
          role_constraints: {
            web: {
              groups: [
                {
                  attribute_constraints: [
                    { selector: { pseudoattribute_type: 'HOSTNAME' }, predicate: { exists: {} } },
                  ],
                },
              ],
            },
          },
        },
      }),
      (error: unknown) =>
        error instanceof SubscriptionError &&
        /not contained in the set of roles/.test(error.message),
    );
    const hostile = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: {
        user: 'u',
        name: 'hostile',
        roles: ['eng'],
        capabilities: [{ type: 'MULTI_ROLE' }],
      },
      offerConstraints: {
        role_constraints: {
          eng: {
            groups: [
              {
                attribute_constraints: [
                  {
                    selector: { attribute_name: 'rack' },
                    predicate: { text_matches: { regex: '(a+)+$' } },
                  },
                ],
              },
            ],
          },
        },
      },
    });
    frameworks.push(hostile);
    // The master still answers at once: nothing stalled its event loop.
    const started = performance.now();
    const health = await fetch(new URL('/health', cluster.masterUrl));
    assert.equal(health.status, 200);
    assert.ok(performance.now() - started < 2_000);
  });
});

// ACLs where a principal's reach ends inside a call (issue #14, "Authorization"): the operator
// event stream shows a subscriber only the frameworks and tasks its view ACLs let it see, from
// SUBSCRIBED on; and an ACCEPT's operations are authorized one by one, a refused one failing
// alone as Mesos fails it (TASK_ERROR with REASON_TASK_UNAUTHORIZED, OPERATION_ERROR).
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { openStream, type SchedulerConnection, subscribe } from '../../src/sdk/index.js';
import { type Offer, RecordIODecoder, taskId } from '../../src/wire/index.js';
import { EventQueue, launchOne } from './events.js';
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

/** The framework's principal (frameworks need not authenticate in this cluster). */
const WEB = 'web';

const ACLS = {
  // Only ops sees frameworks and tasks; the agent principal sees none.
  view_frameworks: [
    { principals: { values: [OPS.principal] }, users: { type: 'ANY' } },
    { principals: { type: 'ANY' }, users: { type: 'NONE' } },
  ],
  view_tasks: [
    { principals: { values: [OPS.principal] }, users: { type: 'ANY' } },
    { principals: { type: 'ANY' }, users: { type: 'NONE' } },
  ],
  // web runs tasks as root only, reserves for its role, and may neither unreserve nor create.
  run_tasks: [
    { principals: { values: [WEB] }, users: { values: ['root'] } },
    { principals: { type: 'ANY' }, users: { type: 'NONE' } },
  ],
  reserve_resources: [{ principals: { values: [WEB] }, roles: { values: [WEB] } }],
  unreserve_resources: [{ principals: { type: 'ANY' }, reserver_principals: { type: 'NONE' } }],
  create_volumes: [{ principals: { type: 'ANY' }, roles: { type: 'NONE' } }],
  access_mesos_logs: [
    { principals: { values: [OPS.principal] }, logs: { type: 'ANY' } },
    { principals: { type: 'ANY' }, logs: { type: 'NONE' } },
  ],
};

type OperatorEvent = { type: string } & Record<string, Record<string, unknown>>;

/** One operator SUBSCRIBE as `credential`, its events collected as they come. */
async function watch(masterUrl: string, credential: TestCredential) {
  const response: IncomingMessage = await openStream(new URL('/api/v1', masterUrl), {
    method: 'POST',
    body: JSON.stringify({ type: 'SUBSCRIBE' }),
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: authorization(credential),
    },
  });
  assert.equal(response.statusCode, 200);
  const seen: OperatorEvent[] = [];
  const decoder = new RecordIODecoder();
  response.on('data', (chunk: Buffer) => {
    for (const record of decoder.decode(chunk))
      seen.push(JSON.parse(record.toString('utf8')) as OperatorEvent);
  });
  return {
    seen,
    types: () => seen.map((e) => e.type),
    next: (type: string, match: (e: OperatorEvent) => boolean = () => true) =>
      waitFor(`${credential.principal}'s ${type} event`, () =>
        seen.find((e) => e.type === type && match(e)),
      ),
    close: () => response.destroy(),
  };
}

type State = {
  get_frameworks: { frameworks?: unknown[] };
  get_tasks: { tasks?: unknown[] };
  get_agents: { agents?: unknown[] };
};
const stateOf = (e: OperatorEvent) => e.subscribed?.get_state as State;

const scalar = (name: string, value: number, extra: Record<string, unknown> = {}) => ({
  name,
  type: 'SCALAR' as const,
  scalar: { value },
  allocation_info: { role: WEB },
  ...extra,
});
const reservation = { reservations: [{ type: 'DYNAMIC' as const, role: WEB, principal: WEB }] };

describe('ACL enforcement inside calls', () => {
  let cluster: SecureCluster;
  let framework: SchedulerConnection | undefined;
  let events: EventQueue;
  const streams: { close(): void }[] = [];
  before(async () => {
    cluster = await startSecureCluster({
      acls: ACLS,
      agentResources: 'cpus:2;mem:1024;disk:1024',
      masterArgs: [
        '--authenticate_http_readonly',
        '--authenticate_http_readwrite',
        '--authenticate_agents',
      ],
    });
  });
  after(async () => {
    for (const stream of streams) stream.close();
    await framework?.close({ drainMs: 0 });
    await cluster?.stop();
  });

  test('the operator event stream shows a subscriber only the frameworks and tasks it may view', async () => {
    const ops = await watch(cluster.masterUrl, OPS);
    const agent = await watch(cluster.masterUrl, AGENT);
    streams.push(ops, agent);
    await ops.next('SUBSCRIBED');
    await agent.next('SUBSCRIBED');
    framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: {
        user: 'root',
        name: 'watched',
        principal: WEB,
        role: WEB,
        capabilities: [{ type: 'RESERVATION_REFINEMENT' }],
      },
    });
    events = new EventQueue(framework);
    await ops.next('FRAMEWORK_ADDED');
    await launchOne(framework, events, 'watched-task', 'sleep 60');
    await ops.next('TASK_ADDED');
    await ops.next('TASK_UPDATED', (e) => e.task_updated?.state === 'TASK_RUNNING');
    // Events go out to every subscriber in one order: once the agent principal has the
    // AGENT_ADDED that came after the task's events, it would have had those too.
    await cluster.addAgent('agent-late');
    await ops.next('AGENT_ADDED');
    await agent.next('AGENT_ADDED');
    assert.deepEqual(
      agent.types().filter((t) => t.startsWith('TASK_') || t.startsWith('FRAMEWORK_')),
      [],
      'the agent principal hears of no framework and no task',
    );

    // SUBSCRIBED's state is filtered alike.
    const laterOps = await watch(cluster.masterUrl, OPS);
    const laterAgent = await watch(cluster.masterUrl, AGENT);
    streams.push(laterOps, laterAgent);
    const opsState = stateOf(await laterOps.next('SUBSCRIBED'));
    const agentState = stateOf(await laterAgent.next('SUBSCRIBED'));
    assert.equal(opsState.get_frameworks.frameworks?.length, 1);
    assert.equal(opsState.get_tasks.tasks?.length, 1);
    assert.equal(agentState.get_frameworks.frameworks?.length ?? 0, 0);
    assert.equal(agentState.get_tasks.tasks?.length ?? 0, 0);
    assert.equal(agentState.get_agents.agents?.length, 2, 'agents are shown to all');
  });

  test('an ACCEPT runs what the ACLs allow and fails each refused operation as Mesos does', async () => {
    assert.ok(framework !== undefined);
    const offer: Offer = await waitFor('an offer with cpus and disk', async () => {
      const offers = await events.offers();
      return offers.find((o) =>
        o.resources.some((r) => r.name === 'disk' && (r.scalar?.value ?? 0) >= 64),
      );
    });
    const task = (name: string, user: string) => ({
      name,
      task_id: taskId(name),
      agent_id: offer.agent_id,
      resources: [scalar('cpus', 0.1), scalar('mem', 32)],
      command: { value: 'true', user },
    });
    await framework.accept(
      [offer.id],
      [
        {
          type: 'RESERVE',
          id: { value: 'reserve-allowed' },
          reserve: {
            resources: [scalar('cpus', 0.5, reservation), scalar('disk', 64, reservation)],
          },
        },
        {
          type: 'CREATE',
          id: { value: 'create-refused' },
          create: {
            volumes: [
              scalar('disk', 64, {
                ...reservation,
                disk: {
                  persistence: { id: 'refused-volume', principal: WEB },
                  volume: { mode: 'RW', container_path: 'data' },
                },
              }),
            ],
          },
        },
        {
          type: 'UNRESERVE',
          id: { value: 'unreserve-refused' },
          unreserve: { resources: [scalar('cpus', 0.5, reservation)] },
        },
        { type: 'LAUNCH', launch: { task_infos: [task('as-nobody', 'nobody')] } },
        { type: 'LAUNCH', launch: { task_infos: [task('as-root', 'root')] } },
      ],
      { refuse_seconds: 0 },
    );
    const operationStatus = (id: string) =>
      waitFor(`the status of operation ${id}`, () => {
        for (const event of events.seen)
          if (
            event.type === 'UPDATE_OPERATION_STATUS' &&
            event.update_operation_status.status.operation_id?.value === id
          )
            return event.update_operation_status.status;
        return undefined;
      });
    assert.equal((await operationStatus('reserve-allowed')).state, 'OPERATION_FINISHED');
    const created = await operationStatus('create-refused');
    assert.equal(created.state, 'OPERATION_ERROR');
    assert.match(created.message ?? '', /create_volumes on 'web' as principal 'web'/);
    const unreserved = await operationStatus('unreserve-refused');
    assert.equal(unreserved.state, 'OPERATION_ERROR');
    assert.match(unreserved.message ?? '', /unreserve_resources/);

    const refused = await events.update('as-nobody', 'TASK_ERROR');
    assert.equal(refused.reason, 'REASON_TASK_UNAUTHORIZED');
    assert.equal(refused.source, 'SOURCE_MASTER');
    assert.match(refused.message ?? '', /run_tasks on 'nobody'/);
    await events.update('as-root', 'TASK_FINISHED');

    // The reservation stands (its UNRESERVE was refused): the agent still holds it for web.
    const slaves = (await (
      await cluster.get(new URL('/master/slaves', cluster.masterUrl), OPS)
    ).json()) as {
      slaves: { id: string; reserved_resources: Record<string, Record<string, number>> }[];
    };
    const held = slaves.slaves.find((s) => s.id === offer.agent_id.value);
    assert.equal(held?.reserved_resources[WEB]?.cpus, 0.5);
    assert.equal(held?.reserved_resources[WEB]?.disk, 64);
  });

  test("the master's log is read only by principals access_mesos_logs allows", async () => {
    const read = async (credential: TestCredential) => {
      const url = new URL('/files/read', cluster.masterUrl);
      url.search = new URLSearchParams({ path: '/master/log', offset: '0' }).toString();
      const response = await cluster.get(url, credential);
      return { status: response.status, text: await response.text() };
    };
    const denied = await read(AGENT);
    assert.equal(denied.status, 403);
    assert.match(denied.text, /access_mesos_logs/);
    // This master writes no log file (no --log_dir): allowed, ops finds none to read.
    assert.equal((await read(OPS)).status, 404);
  });
});

describe('access_sandboxes on the agent', () => {
  let cluster: SecureCluster;
  let framework: SchedulerConnection | undefined;
  before(async () => {
    cluster = await startSecureCluster({
      agents: 0,
      agentResources: 'cpus:2;mem:1024',
      masterArgs: ['--authenticate_agents'],
    });
  });
  after(async () => {
    await framework?.close({ drainMs: 0 });
    await cluster?.stop();
  });

  test("a principal reads the sandboxes of the users it may, and not another task's, even through a link", async () => {
    const agent = await cluster.addAgent('agent-files', [
      '--switch_user',
      '--authenticate_http_readonly',
      '--http_credentials',
      cluster.credentialsFile,
      '--acls',
      JSON.stringify({
        access_sandboxes: [
          { principals: { values: [OPS.principal] }, users: { type: 'ANY' } },
          { principals: { values: [AGENT.principal] }, users: { values: ['nobody'] } },
          { principals: { type: 'ANY' }, users: { type: 'NONE' } },
        ],
      }),
    ]);
    framework = await subscribe({
      master: cluster.masterUrl,
      frameworkInfo: { user: 'root', name: 'sandboxes' },
    });
    const events = new EventQueue(framework);
    const [offer] = await events.offers();
    assert.ok(offer !== undefined);
    const task = (name: string, user: string, command: string) => ({
      name,
      task_id: taskId(name),
      agent_id: offer.agent_id,
      resources: [
        { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.1 } },
        { name: 'mem', type: 'SCALAR' as const, scalar: { value: 32 } },
      ],
      command: { value: command, user },
    });
    // The nobody task links to root's output from its own sandbox: the link is in a sandbox
    // the agent principal may read, what it leads to is not.
    await framework.accept(
      [offer.id],
      [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: [
              task('root-task', 'root', 'echo root-secret; sleep 60'),
              task(
                'nobody-task',
                'nobody',
                'echo nobody-output; ln -s "$MESOS_SANDBOX/../../../root-task/runs/latest/stdout" peek; sleep 60',
              ),
            ],
          },
        },
      ],
    );
    await events.update('root-task', 'TASK_RUNNING');
    await events.update('nobody-task', 'TASK_RUNNING');
    const frameworkId = framework.frameworkId.value;
    const sandbox = (executor: string) =>
      `/frameworks/${frameworkId}/executors/${executor}/runs/latest`;
    const read = async (credential: TestCredential | undefined, path: string) => {
      const url = new URL('/files/read', agent.url);
      url.search = new URLSearchParams({ path, offset: '0' }).toString();
      const response = await cluster.get(url, credential);
      return { status: response.status, text: await response.text() };
    };
    await waitFor('the tasks to write their output', async () =>
      (await read(OPS, `${sandbox('nobody-task')}/peek`)).text.includes('root-secret') &&
      (await read(OPS, `${sandbox('nobody-task')}/stdout`)).text.includes('nobody-output')
        ? true
        : undefined,
    );
    assert.equal((await read(undefined, `${sandbox('root-task')}/stdout`)).status, 401);
    const own = await read(AGENT, `${sandbox('nobody-task')}/stdout`);
    assert.equal(own.status, 200);
    assert.match(own.text, /nobody-output/);
    const other = await read(AGENT, `${sandbox('root-task')}/stdout`);
    assert.equal(other.status, 403);
    assert.match(other.text, /access_sandboxes/);
    assert.equal((await read(AGENT, `${sandbox('nobody-task')}/peek`)).status, 403, 'by a link');
    assert.equal((await read(GUEST, `${sandbox('nobody-task')}/stdout`)).status, 403);
    assert.match((await read(OPS, `${sandbox('root-task')}/stdout`)).text, /root-secret/);
    const browse = new URL('/files/browse', agent.url);
    browse.search = new URLSearchParams({ path: sandbox('root-task') }).toString();
    assert.equal((await cluster.get(browse, AGENT)).status, 403);
    assert.equal((await cluster.get(browse, OPS)).status, 200);
  });
});

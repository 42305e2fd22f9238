// Maintenance with real processes (#8, section 5; docs/maintenance.md): a
// schedule sends an inverse offer to the framework running a task on the
// machine, its DECLINE shows in the status, /machine/down kills the task and
// keeps the agent out, /machine/up lets it back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import type { InverseOffer } from '../../src/wire/index.js';
import { EventQueue } from './events.js';
import { getState, isAlive, startCluster, waitFor } from './harness.js';
import { getJson, killPid, launchOn, offerOn, operatorCall, postJsonTo } from './operator.js';

const AGENT_RESOURCES = 'cpus:2;mem:1024;disk:1024;ports:[31000-31100]';
// Both agents run on 127.0.0.1: the hostname tells their machines apart.
const MACHINE = { hostname: 'm1.test', ip: '127.0.0.1' };
const UNAVAILABILITY = {
  start: { nanoseconds: 1_443_830_400_000_000_000 },
  duration: { nanoseconds: 3_600_000_000_000 },
};

test('maintenance: inverse offer, DECLINE in the status, machine down kills the task and refuses the agent, machine up lets it back', async (t) => {
  const cluster = await startCluster({ agents: 0, agentResources: AGENT_RESOURCES });
  t.after(() => cluster.stop());
  const agentArgs = ['--hostname', 'm1.test'];
  const agentDir = `${cluster.workDir}/m1`;
  const m1 = await cluster.addAgent('m1', agentArgs, agentDir);
  await cluster.addAgent('m2', ['--hostname', 'm2.test']);
  const state = await waitFor('both agents to register', async () => {
    const s = await getState(cluster.masterUrl);
    return s.slaves.filter((a) => a.active).length === 2 ? s : undefined;
  });
  const m1Id = state.slaves.find((s) => s.hostname === 'm1.test')?.id ?? '';

  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: 'test', name: 'maintained' },
  });
  t.after(() => framework.close());
  const events = new EventQueue(framework);
  const running = await launchOn(
    framework,
    events,
    await offerOn(events, m1Id),
    'on-m1',
    'sleep 300',
  );
  const pid = running.container_status?.executor_pid;
  t.after(() => killPid(pid));

  // Scheduling the machine puts it in DRAINING: the framework is asked for it back.
  await postJsonTo(cluster.masterUrl, '/maintenance/schedule', {
    windows: [{ machine_ids: [MACHINE], unavailability: UNAVAILABILITY }],
  });
  assert.deepEqual(await getJson(cluster.masterUrl, '/maintenance/schedule'), {
    windows: [{ machine_ids: [MACHINE], unavailability: UNAVAILABILITY }],
  });
  const inverse = await waitFor('an inverse offer for m1', () => {
    for (const event of events.seen)
      if (event.type === 'INVERSE_OFFERS')
        return event.inverse_offers.inverse_offers.find(
          (o: InverseOffer) => o.agent_id?.value === m1Id,
        );
    return undefined;
  });
  assert.deepEqual(inverse.unavailability, UNAVAILABILITY);
  await framework.call({
    type: 'DECLINE_INVERSE_OFFERS',
    decline_inverse_offers: { inverse_offer_ids: [inverse.id], filters: { refuse_seconds: 600 } },
  });
  const reply = await operatorCall(cluster.masterUrl, { type: 'GET_MAINTENANCE_STATUS' });
  const status = (reply.get_maintenance_status as { status: Record<string, unknown> }).status;
  const draining = status.draining_machines as {
    id: unknown;
    statuses?: { status: string; framework_id: { value: string } }[];
  }[];
  assert.deepEqual(draining[0]?.id, MACHINE);
  assert.equal(draining[0]?.statuses?.[0]?.status, 'DECLINE');
  assert.equal(draining[0]?.statuses?.[0]?.framework_id.value, framework.frameworkId.value);
  const offer = await waitFor('an offer of m1 with its unavailability', () => {
    for (const event of events.seen)
      if (event.type === 'OFFERS')
        for (const o of event.offers.offers)
          if (o.agent_id.value === m1Id && o.unavailability !== undefined) return o;
    return undefined;
  });
  assert.deepEqual(offer.unavailability, UNAVAILABILITY);

  // Down: the agent is told to shut down, its task is lost, and it may not come back.
  await postJsonTo(cluster.masterUrl, '/machine/down', [MACHINE]);
  const lost = await events.update('on-m1', 'TASK_LOST');
  assert.equal(lost.reason, 'REASON_AGENT_REMOVED');
  assert.equal(await m1.exited, 0, 'the agent shut down');
  assert.ok(pid !== undefined);
  await waitFor('the task process to be gone', () => (isAlive(pid) ? undefined : true));
  assert.deepEqual(await getJson(cluster.masterUrl, '/maintenance/status'), {
    down_machines: [MACHINE],
  });
  const refusals = () =>
    cluster.master.lines.filter((l) => l.msg === 'agent registration refused').length;
  const before = refusals();
  const restarted = await cluster.addAgent('m1-again', agentArgs, agentDir);
  await waitFor('the restarted agent to be refused', () =>
    refusals() > before ? true : undefined,
  );
  assert.equal(
    (await getState(cluster.masterUrl)).slaves.some((s) => s.hostname === 'm1.test'),
    false,
  );

  // Up: out of the schedule, and the agent (retrying all along) joins again.
  await postJsonTo(cluster.masterUrl, '/machine/up', [MACHINE]);
  assert.deepEqual(await getJson(cluster.masterUrl, '/maintenance/schedule'), {});
  await waitFor(
    'the agent on m1 to register again',
    async () =>
      (await getState(cluster.masterUrl)).slaves.some((s) => s.hostname === 'm1.test' && s.active)
        ? true
        : undefined,
    30_000,
  );
  assert.ok(isAlive(restarted.pid));
});

test('maintenance: schedules Mesos would refuse answer 400 and change nothing', async (t) => {
  const cluster = await startCluster({ agents: 0 });
  t.after(() => cluster.stop());
  await operatorCall(
    cluster.masterUrl,
    {
      type: 'UPDATE_MAINTENANCE_SCHEDULE',
      update_maintenance_schedule: {
        schedule: {
          windows: [{ machine_ids: [MACHINE, MACHINE], unavailability: UNAVAILABILITY }],
        },
      },
    },
    400,
  );
  await operatorCall(
    cluster.masterUrl,
    { type: 'START_MAINTENANCE', start_maintenance: { machines: [MACHINE] } },
    400,
  );
  await operatorCall(cluster.masterUrl, {
    type: 'UPDATE_MAINTENANCE_SCHEDULE',
    update_maintenance_schedule: {
      schedule: { windows: [{ machine_ids: [MACHINE], unavailability: UNAVAILABILITY }] },
    },
  });
  await operatorCall(cluster.masterUrl, {
    type: 'START_MAINTENANCE',
    start_maintenance: { machines: [MACHINE] },
  });
  await operatorCall(
    cluster.masterUrl,
    { type: 'UPDATE_MAINTENANCE_SCHEDULE', update_maintenance_schedule: { schedule: {} } },
    400,
  );
  const reply = await operatorCall(cluster.masterUrl, { type: 'GET_MAINTENANCE_SCHEDULE' });
  assert.deepEqual(reply, {
    type: 'GET_MAINTENANCE_SCHEDULE',
    get_maintenance_schedule: {
      schedule: { windows: [{ machine_ids: [MACHINE], unavailability: UNAVAILABILITY }] },
    },
  });
  await operatorCall(cluster.masterUrl, {
    type: 'STOP_MAINTENANCE',
    stop_maintenance: { machines: [MACHINE] },
  });
  const status = await operatorCall(cluster.masterUrl, { type: 'GET_MAINTENANCE_STATUS' });
  assert.deepEqual(status, {
    type: 'GET_MAINTENANCE_STATUS',
    get_maintenance_status: { status: {} },
  });
});

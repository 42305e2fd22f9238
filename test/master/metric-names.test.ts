// /metrics/snapshot against the names Mesos documents for the master
// (docs/monitoring.md, "Master Nodes"): a name missing here is a dashboard
// panel that stays empty.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accept, decline } from '../../src/master/core/accept.js';
import * as agents from '../../src/master/core/agents.js';
import * as frameworks from '../../src/master/core/frameworks.js';
import { snapshotMetrics } from '../../src/master/core/snapshot.js';
import * as tasks from '../../src/master/core/tasks.js';
import { Resources } from '../../src/resources/index.js';
import { newStatusUuid, taskId } from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

/** Every master metric of docs/monitoring.md that Agora can have, in the doc's order. */
const DOCUMENTED_MASTER_METRICS = [
  // Resources
  'master/cpus_percent',
  'master/cpus_used',
  'master/cpus_total',
  'master/cpus_revocable_percent',
  'master/cpus_revocable_total',
  'master/cpus_revocable_used',
  'master/disk_percent',
  'master/disk_used',
  'master/disk_total',
  'master/disk_revocable_percent',
  'master/disk_revocable_total',
  'master/disk_revocable_used',
  'master/gpus_percent',
  'master/gpus_used',
  'master/gpus_total',
  'master/gpus_revocable_percent',
  'master/gpus_revocable_total',
  'master/gpus_revocable_used',
  'master/mem_percent',
  'master/mem_used',
  'master/mem_total',
  'master/mem_revocable_percent',
  'master/mem_revocable_total',
  'master/mem_revocable_used',
  // Master
  'master/elected',
  'master/uptime_secs',
  // System: Agora reads no host metrics (system/*) on the master yet.
  // Agents
  'master/slave_registrations',
  'master/slave_removals',
  'master/slave_reregistrations',
  'master/slave_unreachable_scheduled',
  'master/slave_unreachable_completed',
  'master/slave_unreachable_canceled',
  'master/slaves_active',
  'master/slaves_connected',
  'master/slaves_disconnected',
  'master/slaves_inactive',
  'master/slaves_unreachable',
  'master/slave_removals/reason_registered',
  'master/slave_removals/reason_unhealthy',
  'master/slave_removals/reason_unregistered',
  'master/recovery_slave_removals',
  // Frameworks
  'master/frameworks_active',
  'master/frameworks_connected',
  'master/frameworks_disconnected',
  'master/frameworks_inactive',
  'master/outstanding_offers',
  // Tasks
  'master/tasks_error',
  'master/tasks_failed',
  'master/tasks_finished',
  'master/tasks_killed',
  'master/tasks_killing',
  'master/tasks_lost',
  'master/tasks_running',
  'master/tasks_staging',
  'master/tasks_starting',
  'master/tasks_unreachable',
  // Messages
  'master/invalid_executor_to_framework_messages',
  'master/invalid_framework_to_executor_messages',
  'master/invalid_operation_status_update_acknowledgements',
  'master/invalid_status_update_acknowledgements',
  'master/invalid_status_updates',
  'master/dropped_messages',
  'master/messages_authenticate',
  'master/messages_deactivate_framework',
  'master/messages_decline_offers',
  'master/messages_executor_to_framework',
  'master/messages_exited_executor',
  'master/messages_framework_to_executor',
  'master/messages_kill_task',
  'master/messages_launch_tasks',
  'master/messages_operation_status_update_acknowledgement',
  'master/messages_reconcile_operations',
  'master/messages_reconcile_tasks',
  'master/messages_register_framework',
  'master/messages_register_slave',
  'master/messages_reregister_framework',
  'master/messages_reregister_slave',
  'master/messages_resource_request',
  'master/messages_revive_offers',
  'master/messages_status_update',
  'master/messages_status_update_acknowledgement',
  'master/messages_unregister_framework',
  'master/messages_unregister_slave',
  'master/messages_update_slave',
  'master/valid_executor_to_framework_messages',
  'master/valid_framework_to_executor_messages',
  'master/valid_operation_status_update_acknowledgements',
  'master/valid_status_update_acknowledgements',
  'master/valid_status_updates',
  // Event queue
  'master/event_queue_dispatches',
  'master/event_queue_http_requests',
  'master/event_queue_messages',
  'master/operator_event_stream_subscribers',
  // Operations, by the terminal state they reached
  'master/operations/finished',
  'master/operations/error',
  'master/operations/dropped',
  // Not here: registrar/* and allocator/* (not master/ names).
] as const;

/** The per-framework names of docs/monitoring.md, `<prefix>` standing for the framework's. */
const DOCUMENTED_FRAMEWORK_METRICS = [
  'subscribed',
  'calls',
  'calls/subscribe',
  'calls/accept',
  'calls/decline',
  'calls/suppress',
  'events',
  'events/subscribed',
  'events/offers',
  'events/heartbeat',
  'offers/sent',
  'offers/accepted',
  'offers/declined',
  'offers/rescinded',
  'operations',
  'operations/launch',
  'roles/*/suppressed',
  'tasks/active/task_running',
  'tasks/active/task_staging',
  'tasks/terminal/task_finished',
  'tasks/terminal/task_killed',
] as const;

function snapshot(bed: CoreBed): Record<string, number> {
  return snapshotMetrics(bed.core, bed.clock.now() / 1000 - 30, {
    pendingHttpRequests: 2,
    operatorEventStreamSubscribers: 1,
  });
}

test('metrics snapshot has every master metric docs/monitoring.md lists', () => {
  const bed = new CoreBed();
  const metrics = snapshot(bed);
  const missing = DOCUMENTED_MASTER_METRICS.filter((name) => typeof metrics[name] !== 'number');
  assert.deepEqual(missing, []);
  assert.equal(metrics['master/elected'], 1);
  assert.equal(metrics['master/uptime_secs'], 30);
  assert.equal(metrics['master/event_queue_http_requests'], 2);
  assert.equal(metrics['master/operator_event_stream_subscribers'], 1);
});

test('metrics snapshot names a framework as Mesos does, with its calls, events, offers and tasks', () => {
  const bed = new CoreBed();
  bed.addAgent('cpus:4;mem:4096');
  const fw = bed.subscribe({ name: 'my app' });
  bed.advance(0);
  const [offer] = bed.offersOn(fw.streamId);
  assert.ok(offer !== undefined);
  const framework = bed.framework(fw.id);
  const call = {
    type: 'ACCEPT',
    framework_id: fw.id,
    accept: {
      offer_ids: [offer.id],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: [
              {
                name: 't',
                task_id: taskId('t'),
                agent_id: offer.agent_id,
                resources: Resources.parse('cpus:1;mem:64').toWire('pre-refinement'),
                command: { value: 'true' },
              },
            ],
          },
        },
      ],
    },
  } as const;
  bed.core.metrics.countCall(framework, call);
  accept(bed.core, framework, call.accept);
  frameworks.suppress(bed.core, framework, ['*']);
  bed.drain();

  const metrics = snapshot(bed);
  const prefix = `master/frameworks/my%20app/${fw.id.value}/`;
  const missing = DOCUMENTED_FRAMEWORK_METRICS.map((suffix) => prefix + suffix).filter(
    (name) => typeof metrics[name] !== 'number',
  );
  assert.deepEqual(missing, []);
  const value = (suffix: string) => metrics[prefix + suffix];
  assert.equal(value('subscribed'), 1);
  assert.equal(value('calls/subscribe'), 1);
  assert.equal(value('calls/accept'), 1);
  assert.equal(value('calls'), 2);
  assert.equal(value('operations/launch'), 1);
  assert.equal(value('offers/sent'), 1);
  assert.equal(value('offers/accepted'), 1);
  assert.equal(value('events/subscribed'), 1);
  assert.equal(value('events/offers'), 1);
  assert.equal(value('tasks/active/task_staging'), 1);
  assert.equal(value('roles/*/suppressed'), 1);
  assert.equal(metrics['master/messages_launch_tasks'], 1);
  assert.equal(metrics['master/messages_register_framework'], 1);
  assert.equal(metrics['master/messages_register_slave'], 1);
  assert.equal(metrics['master/tasks_staging'], 1);
  assert.equal(metrics['master/slaves_active'], 1);

  frameworks.remove(bed.core, framework, 'test');
  const after = snapshot(bed);
  assert.deepEqual(
    Object.keys(after).filter((name) => name.startsWith(prefix)),
    [],
    "a removed framework's metrics go with it",
  );
  assert.equal(after['master/tasks_killed'], 1);
});

test('metrics counters follow status updates, acknowledgements, declines and agent removals', () => {
  const bed = new CoreBed({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 1 });
  const agent = bed.addAgent('cpus:4;mem:4096');
  const fw = bed.subscribe();
  bed.advance(0);
  const [offer] = bed.offersOn(fw.streamId);
  assert.ok(offer !== undefined);
  const framework = bed.framework(fw.id);
  accept(bed.core, framework, {
    offer_ids: [offer.id],
    operations: [
      {
        type: 'LAUNCH',
        launch: {
          task_infos: [
            {
              name: 't',
              task_id: taskId('t'),
              agent_id: offer.agent_id,
              resources: Resources.parse('cpus:1;mem:64').toWire('pre-refinement'),
              command: { value: 'true' },
            },
          ],
        },
      },
    ],
  });
  const record = bed.core.books.agents.get(agent.id);
  assert.ok(record !== undefined);
  const uuid = newStatusUuid();
  tasks.statusUpdate(bed.core, record, fw.id.value, {
    task_id: taskId('t'),
    state: 'TASK_FINISHED',
    source: 'SOURCE_EXECUTOR',
    reason: 'REASON_COMMAND_EXECUTOR_FAILED',
    uuid,
  });
  tasks.statusUpdate(bed.core, record, 'no-such-framework', {
    task_id: taskId('t'),
    state: 'TASK_RUNNING',
    uuid: newStatusUuid(),
  });
  tasks.acknowledge(bed.core, framework, agent.id, 't', uuid);
  tasks.acknowledge(bed.core, framework, 'no-such-agent', 't', uuid);
  bed.advance(1000);
  const [again] = bed.offersOn(fw.streamId).slice(1);
  assert.ok(again !== undefined, 'the freed resources are offered again');
  decline(bed.core, framework, [again.id.value], undefined);
  agents.disconnected(bed.core, agent.id, agent.streamId);
  bed.advance(1000);

  const metrics = snapshot(bed);
  const expected: Readonly<Record<string, number>> = {
    'master/messages_status_update': 2,
    'master/valid_status_updates': 1,
    'master/invalid_status_updates': 1,
    'master/tasks_finished': 1,
    'master/task_finished/source_executor/reason_command_executor_failed': 1,
    'master/valid_status_update_acknowledgements': 1,
    'master/invalid_status_update_acknowledgements': 1,
    'master/slave_removals': 1,
    'master/slave_removals/reason_unhealthy': 1,
    'master/slave_unreachable_completed': 1,
    'master/slaves_unreachable': 1,
    'master/slaves_active': 0,
  };
  for (const [name, value] of Object.entries(expected)) assert.equal(metrics[name], value, name);
});

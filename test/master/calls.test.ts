// The scheduler calls of WIRE §2.1 beyond LAUNCH, on the master's core: LAUNCH_GROUP,
// operation feedback, persistent volumes, SHUTDOWN, MESSAGE and FAILURE. Each test drives
// the core on a manual clock and reads what the streams would have received.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accept, decline } from '../../src/master/core/accept.js';
import { changeVolumes } from '../../src/master/core/agent-resources.js';
import * as agents from '../../src/master/core/agents.js';
import * as executors from '../../src/master/core/executors.js';
import * as frameworks from '../../src/master/core/frameworks.js';
import * as operations from '../../src/master/core/operations.js';
import * as tasks from '../../src/master/core/tasks.js';
import { v1Operations } from '../../src/master/http/render-v1.js';
import { Resources } from '../../src/resources/index.js';
import {
  type AgentEvent,
  AgoraError,
  type Event,
  type ExecutorInfo,
  executorId,
  type Offer,
  type OfferOperation,
  type OperationStatus,
  type Resource,
  type TaskInfo,
  taskId,
} from '../../src/wire/index.js';
import { CoreBed } from './core-bed.js';

type Fw = ReturnType<CoreBed['subscribe']>;

function lastOffer(bed: CoreBed, fw: Fw): Offer {
  bed.advance(0);
  const offer = bed.offersOn(fw.streamId).at(-1);
  assert.ok(offer !== undefined, 'an offer');
  return offer;
}

function acceptWith(bed: CoreBed, fw: Fw, offer: Offer, ops: readonly OfferOperation[]): void {
  accept(bed.core, bed.framework(fw.id), { offer_ids: [offer.id], operations: ops });
  bed.drain();
}

function operationStatuses(bed: CoreBed, fw: Fw): OperationStatus[] {
  return bed
    .eventsOn(fw.streamId)
    .flatMap((e) =>
      e.type === 'UPDATE_OPERATION_STATUS' ? [e.update_operation_status.status] : [],
    );
}

function commands<T extends AgentEvent['type']>(
  bed: CoreBed,
  streamId: string,
  type: T,
): Extract<AgentEvent, { type: T }>[] {
  return bed
    .commandsOn(streamId)
    .filter((c): c is Extract<AgentEvent, { type: T }> => c.type === type);
}

const wire = (text: string): Resource[] => Resources.parse(text).toWire('post-refinement');

function task(id: string, agentIdValue: string, resources: string): TaskInfo {
  return {
    name: id,
    task_id: taskId(id),
    agent_id: { value: agentIdValue } as TaskInfo['agent_id'],
    resources: wire(resources),
    command: { value: 'sleep 100' },
  };
}

function defaultExecutor(fw: Fw, resources = 'cpus:0.1;mem:32;disk:10'): ExecutorInfo {
  return {
    type: 'DEFAULT',
    executor_id: executorId('group-exec'),
    framework_id: fw.id,
    resources: wire(resources),
  };
}

// ---------------------------------------------------------------------------- LAUNCH_GROUP

test('calls: LAUNCH_GROUP adds the tasks, sends RUN_TASK_GROUP, and takes the executor and tasks out of the offer', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096;disk:1000');
  const fw = bed.subscribe();
  const offer = lastOffer(bed, fw);
  acceptWith(bed, fw, offer, [
    {
      type: 'LAUNCH_GROUP',
      launch_group: {
        executor: defaultExecutor(fw),
        task_group: {
          tasks: [task('a', agent.id, 'cpus:1;mem:128'), task('b', agent.id, 'cpus:0.5;mem:64')],
        },
      },
    },
  ]);
  const framework = bed.framework(fw.id);
  assert.deepEqual([...framework.tasks.keys()].sort(), ['a', 'b']);
  assert.equal(framework.tasks.get('a')?.info.executor?.executor_id.value, 'group-exec');
  const [run] = commands(bed, agent.streamId, 'RUN_TASK_GROUP');
  assert.ok(run !== undefined, 'the agent is told to run the group');
  assert.equal(run.run_task_group.task_group.tasks.length, 2);
  assert.equal(run.run_task_group.executor.executor_id.value, 'group-exec');
  const node = bed.core.books.agents.get(agent.id);
  assert.ok(node !== undefined);
  assert.ok(
    bed.core.books.usedOn(node).unallocate().equals(Resources.parse('cpus:1.6;mem:224;disk:10')),
    'executor and both tasks are in use',
  );
  // The rest went back (declined for the default 5 s): the next offer holds exactly that.
  bed.advance(5000);
  const next = bed.offersOn(fw.streamId).at(-1);
  assert.ok(next !== undefined && next.id.value !== offer.id.value);
  assert.ok(
    Resources.fromWire(next.resources)
      .unallocate()
      .equals(Resources.parse('cpus:2.4;mem:3872;disk:990')),
  );
});

test('calls: an invalid LAUNCH_GROUP fails every task with TASK_ERROR and REASON_TASK_GROUP_INVALID', () => {
  const cases: readonly [string, (fw: Fw, agentIdValue: string) => OfferOperation, RegExp][] = [
    [
      'executor without a type',
      (fw, a) => ({
        type: 'LAUNCH_GROUP',
        launch_group: {
          executor: { ...defaultExecutor(fw), type: undefined },
          task_group: { tasks: [task('a', a, 'cpus:1;mem:64')] },
        },
      }),
      /'ExecutorInfo.type' must be set/,
    ],
    [
      'executor without disk',
      (fw, a) => ({
        type: 'LAUNCH_GROUP',
        launch_group: {
          executor: defaultExecutor(fw, 'cpus:0.1;mem:32'),
          task_group: { tasks: [task('a', a, 'cpus:1;mem:64')] },
        },
      }),
      /uses no disk/,
    ],
    [
      'more than offered',
      (fw, a) => ({
        type: 'LAUNCH_GROUP',
        launch_group: {
          executor: defaultExecutor(fw),
          task_group: { tasks: [task('a', a, 'cpus:4;mem:64')] },
        },
      }),
      /Total resources .* required by task group and its executor are more than available/,
    ],
    [
      'a duplicate task id within the group',
      (fw, a) => ({
        type: 'LAUNCH_GROUP',
        launch_group: {
          executor: defaultExecutor(fw),
          task_group: { tasks: [task('a', a, 'cpus:1;mem:64'), task('a', a, 'cpus:1;mem:64')] },
        },
      }),
      /Task 'a' is invalid: Task has duplicate ID/,
    ],
    [
      'an id on the operation',
      (fw, a) => ({
        type: 'LAUNCH_GROUP',
        id: { value: 'op' },
        launch_group: {
          executor: defaultExecutor(fw),
          task_group: { tasks: [task('a', a, 'cpus:1;mem:64')] },
        },
      }),
      /The `id` field cannot be set on LAUNCH_GROUP operations/,
    ],
    [
      "limits on a task (its cgroups are the executor's)",
      (fw, a) => ({
        type: 'LAUNCH_GROUP',
        launch_group: {
          executor: defaultExecutor(fw),
          task_group: { tasks: [{ ...task('a', a, 'cpus:1;mem:64'), limits: { mem: 128 } }] },
        },
      }),
      /Task 'a' is invalid: Task's 'limits' are not supported in a task group/,
    ],
  ];
  for (const [name, operation, message] of cases) {
    const bed = new CoreBed();
    const agent = bed.addAgent('cpus:4;mem:4096;disk:1000');
    const fw = bed.subscribe();
    acceptWith(bed, fw, lastOffer(bed, fw), [operation(fw, agent.id)]);
    const updates = bed.updatesOn(fw.streamId);
    assert.ok(updates.length > 0, name);
    for (const status of updates) {
      assert.equal(status.state, 'TASK_ERROR', name);
      assert.equal(status.reason, 'REASON_TASK_GROUP_INVALID', name);
      assert.match(status.message ?? '', message, name);
    }
    assert.equal(bed.framework(fw.id).tasks.size, 0, name);
    assert.equal(commands(bed, agent.streamId, 'RUN_TASK_GROUP').length, 0, name);
  }
});

test('calls: killing one task of a group kills every live task of the group', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096;disk:1000');
  const fw = bed.subscribe();
  acceptWith(bed, fw, lastOffer(bed, fw), [
    {
      type: 'LAUNCH_GROUP',
      launch_group: {
        executor: defaultExecutor(fw),
        task_group: {
          tasks: [task('a', agent.id, 'cpus:1;mem:64'), task('b', agent.id, 'cpus:1;mem:64')],
        },
      },
    },
  ]);
  tasks.killTask(bed.core, bed.framework(fw.id), 'a', undefined);
  bed.drain();
  const killed = commands(bed, agent.streamId, 'KILL_TASK').map((c) => c.kill_task.task_id.value);
  assert.deepEqual(killed.sort(), ['a', 'b']);
});

test('calls: an executor that exits frees its resources and its framework hears FAILURE', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096;disk:1000');
  const fw = bed.subscribe();
  acceptWith(bed, fw, lastOffer(bed, fw), [
    {
      type: 'LAUNCH_GROUP',
      launch_group: {
        executor: defaultExecutor(fw),
        task_group: { tasks: [task('a', agent.id, 'cpus:1;mem:64')] },
      },
    },
  ]);
  const node = bed.core.books.agents.get(agent.id);
  assert.ok(node !== undefined);
  tasks.statusUpdate(bed.core, node, fw.id.value, {
    task_id: taskId('a'),
    state: 'TASK_FAILED',
    source: 'SOURCE_AGENT',
    reason: 'REASON_CONTAINER_LAUNCH_FAILED',
  });
  executors.executorExited(bed.core, node, fw.id.value, 'group-exec', -1);
  const failure = bed.eventsOn(fw.streamId).find((e) => e.type === 'FAILURE');
  assert.deepEqual(failure, {
    type: 'FAILURE',
    failure: { agent_id: node.id, executor_id: executorId('group-exec'), status: -1 },
  });
  assert.ok(bed.core.books.usedOn(node).isEmpty(), 'nothing in use any more');
  assert.equal(node.executors.size, 0);
});

test('calls: SHUTDOWN and MESSAGE are forwarded to the agent; REQUEST changes nothing', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const fw = bed.subscribe();
  const framework = bed.framework(fw.id);
  executors.shutdownExecutor(bed.core, framework, agent.id, 'e1');
  executors.frameworkMessage(bed.core, framework, agent.id, 'e1', 'aGVsbG8=');
  executors.frameworkMessage(bed.core, framework, 'no-such-agent', 'e1', 'aGVsbG8=');
  bed.drain();
  assert.deepEqual(commands(bed, agent.streamId, 'SHUTDOWN_EXECUTOR'), [
    {
      type: 'SHUTDOWN_EXECUTOR',
      shutdown_executor: { framework_id: fw.id, executor_id: executorId('e1') },
    },
  ]);
  assert.deepEqual(commands(bed, agent.streamId, 'FRAMEWORK_MESSAGE'), [
    {
      type: 'FRAMEWORK_MESSAGE',
      framework_message: { framework_id: fw.id, executor_id: executorId('e1'), data: 'aGVsbG8=' },
    },
  ]);
  const counts = bed.core.metrics.snapshot();
  assert.equal(counts['master/valid_framework_to_executor_messages'], 1);
  assert.equal(counts['master/invalid_framework_to_executor_messages'], 1);
});

test('calls: an agent that becomes unreachable is reported with FAILURE to every connected framework', () => {
  const bed = new CoreBed({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 1 });
  const agent = bed.addAgent();
  const withTasks = bed.subscribe({ name: 'with-tasks' });
  const without = bed.subscribe({ name: 'without' });
  agents.disconnected(bed.core, agent.id, agent.streamId);
  bed.advance(1000);
  for (const fw of [withTasks, without]) {
    const failures = bed.eventsOn(fw.streamId).filter((e) => e.type === 'FAILURE');
    assert.deepEqual(failures, [{ type: 'FAILURE', failure: { agent_id: { value: agent.id } } }]);
  }
});

// ------------------------------------------------------------------- operation feedback

function reserveDisk(id?: string): OfferOperation {
  return {
    type: 'RESERVE',
    ...(id !== undefined ? { id: { value: id } } : {}),
    reserve: {
      resources: [
        {
          name: 'disk',
          type: 'SCALAR',
          scalar: { value: 500 },
          reservations: [{ type: 'DYNAMIC', role: 'eng', principal: 'p' }],
          allocation_info: { role: 'eng' },
        },
      ],
    },
  };
}

const engFramework = {
  roles: ['eng'],
  principal: 'p',
  capabilities: [{ type: 'MULTI_ROLE' as const }, { type: 'RESERVATION_REFINEMENT' as const }],
};

test('calls: RESERVE with an id is answered OPERATION_FINISHED, kept until acknowledged, reconciled without uuid', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096;disk:1000');
  const fw = bed.subscribe(engFramework);
  acceptWith(bed, fw, lastOffer(bed, fw), [reserveDisk('r1')]);
  const [finished] = operationStatuses(bed, fw);
  assert.equal(finished?.state, 'OPERATION_FINISHED');
  assert.equal(finished?.operation_id?.value, 'r1');
  assert.equal(finished?.agent_id?.value, agent.id);
  const uuid = finished?.uuid?.value;
  assert.ok(uuid !== undefined, 'a status to acknowledge');
  assert.equal(
    Resources.fromWire(finished?.converted_resources ?? []).toString(),
    'disk(allocated: eng)(reservations: [(DYNAMIC,eng,p)]):500',
  );
  const listed = v1Operations(bed.core.books) as { operations?: { info: OfferOperation }[] };
  assert.equal(listed.operations?.length, 1);
  assert.equal(listed.operations?.[0]?.info.type, 'RESERVE');

  const framework = bed.framework(fw.id);
  operations.reconcileOperations(bed.core, framework, {});
  operations.reconcileOperations(bed.core, framework, {
    operations: [
      { operation_id: { value: 'r1' } },
      { operation_id: { value: 'nope' }, agent_id: { value: agent.id } as never },
      { operation_id: { value: 'nope2' } },
    ],
  });
  const replies = operationStatuses(bed, fw).slice(1);
  assert.deepEqual(
    replies.map((s) => [s.operation_id?.value, s.state, s.uuid]),
    [
      ['r1', 'OPERATION_FINISHED', undefined],
      ['r1', 'OPERATION_FINISHED', undefined],
      ['nope', 'OPERATION_UNKNOWN', undefined],
      ['nope2', 'OPERATION_UNKNOWN', undefined],
    ],
  );

  operations.acknowledgeOperation(bed.core, framework, 'r1', uuid);
  assert.equal(framework.operations.size, 0, 'an acknowledged terminal status retires it');
  assert.deepEqual(v1Operations(bed.core.books), { operations: [] });
});

test('calls: an unacknowledged operation status is sent again when the framework resubscribes', () => {
  const bed = new CoreBed();
  bed.addAgent('cpus:4;mem:4096;disk:1000');
  const fw = bed.subscribe({ ...engFramework, failover_timeout: 60 });
  acceptWith(bed, fw, lastOffer(bed, fw), [reserveDisk('r1')]);
  const [first] = operationStatuses(bed, fw);
  const second = bed.newStreamId();
  frameworks.subscribe(bed.core, { framework_info: bed.framework(fw.id).info }, second, undefined);
  bed.drain();
  const again = bed
    .eventsOn(second)
    .find(
      (e): e is Extract<Event, { type: 'UPDATE_OPERATION_STATUS' }> =>
        e.type === 'UPDATE_OPERATION_STATUS',
    );
  assert.deepEqual(again?.update_operation_status.status, first);
});

test('calls: an invalid operation with an id gets OPERATION_ERROR; the others of the ACCEPT go on', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096;disk:1000');
  const fw = bed.subscribe(engFramework);
  acceptWith(bed, fw, lastOffer(bed, fw), [
    {
      type: 'UNRESERVE',
      id: { value: 'u1' },
      unreserve: { resources: wire('cpus:1') },
    },
    { type: 'CREATE_DISK', id: { value: 'cd' } },
    { type: 'LAUNCH', id: { value: 'l' }, launch: { task_infos: [task('x', agent.id, 'cpus:1')] } },
    reserveDisk('r1'),
  ]);
  assert.deepEqual(
    operationStatuses(bed, fw).map((s) => [s.operation_id?.value, s.state]),
    [
      ['u1', 'OPERATION_ERROR'],
      ['cd', 'OPERATION_ERROR'],
      ['r1', 'OPERATION_FINISHED'],
    ],
  );
  const [launchError] = bed.updatesOn(fw.streamId);
  assert.equal(launchError?.state, 'TASK_ERROR');
  assert.equal(launchError?.reason, 'REASON_TASK_INVALID');
  assert.match(launchError?.message ?? '', /`id` field cannot be set on LAUNCH operations/);
});

test('calls: an ACCEPT of invalid offers fails operations with an id (OPERATION_ERROR) and tasks (TASK_LOST)', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent();
  const fw = bed.subscribe({ roles: ['eng'], capabilities: [{ type: 'MULTI_ROLE' }] });
  accept(bed.core, bed.framework(fw.id), {
    offer_ids: [{ value: 'no-such-offer' } as never],
    operations: [
      reserveDisk('r1'),
      { type: 'LAUNCH', launch: { task_infos: [task('t', agent.id, 'cpus:1')] } },
    ],
  });
  bed.drain();
  const [error] = operationStatuses(bed, fw);
  assert.equal(error?.state, 'OPERATION_ERROR');
  assert.match(error?.message ?? '', /^Operation attempted with invalid offers: /);
  const [lost] = bed.updatesOn(fw.streamId);
  assert.equal(lost?.state, 'TASK_LOST');
  assert.equal(lost?.reason, 'REASON_INVALID_OFFERS');
});

// -------------------------------------------------------------------- persistent volumes

function volume(size: number, id = 'pg-1', extra: Partial<Resource> = {}): Resource {
  return {
    name: 'disk',
    type: 'SCALAR',
    scalar: { value: size },
    reservations: [{ type: 'STATIC', role: 'eng' }],
    disk: {
      persistence: { id, principal: 'p' },
      volume: { container_path: 'data', mode: 'RW' },
    },
    allocation_info: { role: 'eng' },
    ...extra,
  };
}

test('calls: CREATE makes a volume of reserved disk; it is offered only to its role, survives a task, and DESTROY gives the disk back', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096;disk(eng):1000;disk:500');
  const fw = bed.subscribe(engFramework);
  const other = bed.subscribe({
    name: 'other',
    roles: ['web'],
    capabilities: [{ type: 'MULTI_ROLE' }],
  });
  acceptWith(bed, fw, lastOffer(bed, fw), [
    { type: 'CREATE', id: { value: 'c1' }, create: { volumes: [volume(600)] } },
    {
      type: 'LAUNCH',
      launch: {
        task_infos: [
          {
            ...task('t', agent.id, 'cpus:1;mem:128'),
            resources: [...wire('cpus:1;mem:128'), volume(600)],
          },
        ],
      },
    },
  ]);
  assert.equal(operationStatuses(bed, fw)[0]?.state, 'OPERATION_FINISHED');
  const checkpoint = commands(bed, agent.streamId, 'CHECKPOINT_RESOURCES').at(-1);
  assert.ok(
    Resources.fromWire(checkpoint?.checkpoint_resources.resources ?? []).equals(
      Resources.fromWire([{ ...volume(600), allocation_info: undefined }]),
    ),
    'the agent checkpoints the volume (and only it: the static reservation is configured)',
  );
  assert.equal(bed.framework(fw.id).tasks.get('t')?.state, 'TASK_STAGING');
  const node = bed.core.books.agents.get(agent.id);
  assert.ok(node !== undefined);
  tasks.statusUpdate(bed.core, node, fw.id.value, {
    task_id: taskId('t'),
    state: 'TASK_FINISHED',
    source: 'SOURCE_EXECUTOR',
  });
  decline(bed.core, bed.framework(other.id), [...bed.framework(other.id).offers], 0);
  bed.advance(1000);
  const volumeOffered = (offers: readonly Offer[]) =>
    offers.some((o) => o.resources.some((r) => r.disk?.persistence?.id === 'pg-1'));
  assert.ok(volumeOffered(bed.offersOn(fw.streamId)), 'offered again to its role');
  assert.ok(!volumeOffered(bed.offersOn(other.streamId)), 'never to another role');
  const offer = bed.offersOn(fw.streamId).at(-1);
  assert.ok(offer !== undefined && volumeOffered([offer]));
  acceptWith(bed, fw, offer, [
    { type: 'DESTROY', id: { value: 'd1' }, destroy: { volumes: [volume(600)] } },
  ]);
  assert.equal(operationStatuses(bed, fw).at(-1)?.state, 'OPERATION_FINISHED');
  assert.ok(node.total.persistentVolumes().isEmpty());
  assert.ok(node.total.equals(Resources.parse('cpus:4;mem:4096;disk(eng):1000;disk:500')));
});

test('calls: CREATE refuses unreserved disk, a duplicate persistence id and a read-only volume', () => {
  const bed = new CoreBed();
  bed.addAgent('cpus:4;mem:4096;disk(eng):1000;disk:500');
  const fw = bed.subscribe(engFramework);
  acceptWith(bed, fw, lastOffer(bed, fw), [
    {
      type: 'CREATE',
      id: { value: 'unreserved' },
      create: { volumes: [volume(100, 'a', { reservations: undefined })] },
    },
    {
      type: 'CREATE',
      id: { value: 'ro' },
      create: {
        volumes: [
          volume(100, 'b', {
            disk: {
              persistence: { id: 'b', principal: 'p' },
              volume: { container_path: 'd', mode: 'RO' },
            },
          }),
        ],
      },
    },
    { type: 'CREATE', id: { value: 'first' }, create: { volumes: [volume(100, 'dup')] } },
    { type: 'CREATE', id: { value: 'again' }, create: { volumes: [volume(100, 'dup')] } },
    {
      type: 'CREATE',
      id: { value: 'who' },
      create: {
        volumes: [
          volume(100, 'c', {
            disk: {
              persistence: { id: 'c', principal: 'someone-else' },
              volume: { container_path: 'd', mode: 'RW' },
            },
          }),
        ],
      },
    },
  ]);
  assert.deepEqual(
    operationStatuses(bed, fw).map((s) => [
      s.operation_id?.value,
      s.state,
      s.message?.replace(/^[^:]*: /, ''),
    ]),
    [
      [
        'unreserved',
        'OPERATION_ERROR',
        'Persistent volumes cannot be created from unreserved resources',
      ],
      ['ro', 'OPERATION_ERROR', 'Read-only persistent volume not supported'],
      ['first', 'OPERATION_FINISHED', undefined],
      ['again', 'OPERATION_ERROR', "Persistence ID 'dup' is not unique"],
      [
        'who',
        'OPERATION_ERROR',
        "Create volume operation attempted by principal 'p', which does not match a volume in the operation with principal 'someone-else' set in 'disk.persistence'",
      ],
    ],
  );
});

test('calls: GROW_VOLUME and SHRINK_VOLUME resize a volume; the result is not usable in the same ACCEPT', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096;disk(eng):1000');
  const fw = bed.subscribe(engFramework);
  acceptWith(bed, fw, lastOffer(bed, fw), [
    { type: 'CREATE', create: { volumes: [volume(400)] } },
    {
      type: 'GROW_VOLUME',
      id: { value: 'g' },
      grow_volume: {
        volume: volume(400),
        addition: {
          name: 'disk',
          type: 'SCALAR',
          scalar: { value: 100 },
          reservations: [{ type: 'STATIC', role: 'eng' }],
          allocation_info: { role: 'eng' },
        },
      },
    },
    { type: 'DESTROY', id: { value: 'too-soon' }, destroy: { volumes: [volume(500)] } },
  ]);
  const node = bed.core.books.agents.get(agent.id);
  assert.ok(node !== undefined);
  assert.equal(node.total.persistentVolumes().scalar('disk'), 500);
  assert.deepEqual(
    operationStatuses(bed, fw).map((s) => [s.operation_id?.value, s.state]),
    [
      ['g', 'OPERATION_FINISHED'],
      ['too-soon', 'OPERATION_ERROR'],
    ],
  );
  bed.advance(5000);
  const offer = bed.offersOn(fw.streamId).at(-1);
  assert.ok(offer !== undefined);
  acceptWith(bed, fw, offer, [
    {
      type: 'SHRINK_VOLUME',
      id: { value: 's' },
      shrink_volume: { volume: volume(500), subtract: { value: 150.5 } },
    },
    {
      type: 'SHRINK_VOLUME',
      id: { value: 'whole' },
      shrink_volume: { volume: volume(349.5), subtract: { value: 349.5 } },
    },
  ]);
  assert.equal(node.total.persistentVolumes().scalar('disk'), 349.5);
  assert.ok(
    node.total.equals(
      node.total.persistentVolumes().plus(Resources.parse('cpus:4;mem:4096;disk(eng):650.5')),
    ),
  );
  assert.deepEqual(
    operationStatuses(bed, fw)
      .slice(2)
      .map((s) => [s.operation_id?.value, s.state]),
    [
      ['s', 'OPERATION_FINISHED'],
      ['whole', 'OPERATION_ERROR'],
    ],
  );
});

test('calls: an agent that subscribes again with its checkpointed volume has it in its total', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096;disk(eng):1000');
  const fw = bed.subscribe(engFramework);
  acceptWith(bed, fw, lastOffer(bed, fw), [{ type: 'CREATE', create: { volumes: [volume(600)] } }]);
  const checkpointed = commands(bed, agent.streamId, 'CHECKPOINT_RESOURCES').at(-1)
    ?.checkpoint_resources.resources;
  assert.ok(checkpointed !== undefined);
  agents.disconnected(bed.core, agent.id, agent.streamId);
  const streamId = bed.newStreamId();
  agents.subscribe(
    bed.core,
    {
      agent_info: {
        hostname: 'host',
        port: 5051,
        resources: wire('cpus:4;mem:4096;disk(eng):1000'),
      },
      version: '1.11.0',
      checkpointed_resources: checkpointed,
    },
    agent.id,
    '127.0.0.1',
    streamId,
  );
  const node = bed.core.books.agents.get(agent.id);
  assert.equal(node?.total.persistentVolumes().scalar('disk'), 600);
  assert.equal(node?.total.scalar('disk'), 1000);
});

test('calls: the operator creates and destroys volumes on unallocated reserved disk; 409 while in use', () => {
  const bed = new CoreBed();
  const agent = bed.addAgent('cpus:4;mem:4096;disk(eng):1000');
  const bare = { ...volume(600), allocation_info: undefined };
  changeVolumes(bed.core, agent.id, { kind: 'create', volumes: [bare] }, undefined);
  const node = bed.core.books.agents.get(agent.id);
  assert.equal(node?.total.persistentVolumes().scalar('disk'), 600);
  assert.throws(
    () =>
      changeVolumes(
        bed.core,
        agent.id,
        {
          kind: 'create',
          volumes: [{ ...bare, disk: { ...bare.disk, persistence: { id: 'big' } } }],
        },
        undefined,
      ),
    (error: unknown) => error instanceof AgoraError && error.code === 'CONFLICT',
  );
  const fw = bed.subscribe(engFramework);
  acceptWith(bed, fw, lastOffer(bed, fw), [
    {
      type: 'LAUNCH',
      launch: {
        task_infos: [
          { ...task('t', agent.id, 'cpus:1'), resources: [...wire('cpus:1'), volume(600)] },
        ],
      },
    },
  ]);
  assert.throws(
    () => changeVolumes(bed.core, agent.id, { kind: 'destroy', volumes: [bare] }, undefined),
    /Persistent volumes in use/,
  );
});

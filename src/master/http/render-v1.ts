import type { Operation, Task } from '../../wire/index.js';
import type { ReadonlyBooks as Books } from '../core/books.js';
import type { AgentRecord, FrameworkRecord, OperationRecord, TaskRecord } from '../core/records.js';
import type { RoleBreakdown } from '../core/roles.js';
import { agentFragments, taskFragments } from './fragments.js';
import {
  AGENT_CAPABILITIES,
  agentPid,
  drainInfo,
  eagerList,
  executorsByFramework,
  hasLimits,
  isActive,
  isListed,
  type Json,
  knownExecutors,
  type ListMaker,
  timeInfo,
} from './render.js';

/** v1 Operation (GET_OPERATIONS): operations kept for feedback, until acknowledged. */
export function v1Operation(record: OperationRecord): Operation {
  const latest = record.statuses.at(-1);
  return {
    framework_id: record.frameworkId,
    agent_id: record.agentId,
    info: record.info,
    latest_status: latest ?? { state: 'OPERATION_PENDING' },
    statuses: record.statuses,
    uuid: { value: record.uuid },
  };
}

export function v1Operations(books: Books): Json {
  const operations = [...books.frameworks.values()].flatMap((framework) =>
    [...framework.operations.values()].map(v1Operation),
  );
  return { operations };
}

/** Each task's and agent's v1 rendering (JSON text, protobuf bytes), kept until it changes. */
const keptTasks = taskFragments.in(undefined, 'v1');

export function v1Task(task: TaskRecord): Task {
  return {
    name: task.info.name,
    task_id: task.taskId,
    framework_id: task.frameworkId,
    ...(task.info.executor !== undefined ? { executor_id: task.info.executor.executor_id } : {}),
    agent_id: task.agentId,
    state: task.state,
    resources: task.resources.toWire('post-refinement'),
    statuses: task.statuses,
    ...(task.statusUpdateState !== undefined
      ? { status_update_state: task.statusUpdateState }
      : {}),
    ...(task.statusUpdateUuid !== undefined ? { status_update_uuid: task.statusUpdateUuid } : {}),
    ...(task.info.labels !== undefined ? { labels: task.info.labels } : {}),
    ...(task.info.container !== undefined ? { container: task.info.container } : {}),
    ...(task.info.user !== undefined ? { user: task.info.user } : {}),
    ...(task.info.health_check !== undefined ? { health_check: task.info.health_check } : {}),
    // v1 Task's map<string, Value.Scalar>: each limit wrapped, 'Infinity' as a JSON string
    // (the protobuf encoder writes it as the double).
    ...(hasLimits(task.info.limits)
      ? {
          limits: Object.fromEntries(
            Object.entries(task.info.limits).map(([name, value]) => [name, { value }]),
          ),
        }
      : {}),
  };
}

export function v1Agent(books: Books, agent: AgentRecord): Json {
  return {
    agent_info: agent.info,
    active: isActive(agent),
    deactivated: agent.isDeactivated,
    version: agent.version,
    pid: agentPid(agent),
    registered_time: timeInfo(agent.registeredTimeSec),
    ...(agent.reregisteredTimeSec !== undefined
      ? { reregistered_time: timeInfo(agent.reregisteredTimeSec) }
      : {}),
    total_resources: agent.total.toWire('post-refinement'),
    allocated_resources: books.usedOn(agent).toWire('post-refinement'),
    offered_resources: books.offeredOn(agent).toWire('post-refinement'),
    capabilities: AGENT_CAPABILITIES.map((type) => ({ type })),
    ...drainInfo(agent),
    ...(agent.drain?.startedAtSec !== undefined
      ? { estimated_drain_start_time: timeInfo(agent.drain.startedAtSec) }
      : {}),
  };
}

export function v1Framework(
  books: Books,
  framework: FrameworkRecord,
  // v1Frameworks passes each framework's, read once for all of them.
  executors = books.executorsOf(framework),
): Json {
  return {
    framework_info: framework.info,
    active: framework.link.state === 'connected',
    connected: framework.link.state === 'connected',
    recovered: framework.link.state === 'recovered',
    registered_time: timeInfo(framework.registeredTimeSec),
    ...(framework.reregisteredTimeSec !== undefined
      ? { reregistered_time: timeInfo(framework.reregisteredTimeSec) }
      : {}),
    ...(framework.unregisteredTimeSec !== undefined
      ? { unregistered_time: timeInfo(framework.unregisteredTimeSec) }
      : {}),
    offers: [...framework.offers].flatMap((id) => {
      const offer = books.offers.get(id);
      return offer === undefined ? [] : [offer.offer];
    }),
    ...(framework.inverseOffers.size > 0
      ? {
          inverse_offers: [...framework.inverseOffers].flatMap((id) => {
            const record = books.inverseOffers.get(id);
            return record === undefined ? [] : [record.inverseOffer];
          }),
        }
      : {}),
    allocated_resources: books.usedBy(framework, executors).toWire('post-refinement'),
    offered_resources: books.offeredTo(framework).toWire('post-refinement'),
    ...(framework.offerConstraintsGiven !== undefined
      ? { offer_constraints: framework.offerConstraintsGiven }
      : {}),
  };
}

export function v1Tasks(books: Books, list: ListMaker = eagerList): Json {
  const active: TaskRecord[] = [];
  const unreachable: TaskRecord[] = [];
  const completed: TaskRecord[] = [];
  for (const framework of [...books.frameworks.values(), ...books.completedFrameworks]) {
    for (const task of framework.tasks.values())
      (task.state === 'TASK_UNREACHABLE' ? unreachable : active).push(task);
    for (const task of framework.completedTasks) completed.push(task);
  }
  return {
    tasks: list(active, v1Task, keptTasks),
    unreachable_tasks: list(unreachable, v1Task, keptTasks),
    completed_tasks: list(completed, v1Task, keptTasks),
  };
}

export function v1Agents(books: Books, list: ListMaker = eagerList): Json {
  return {
    agents: list(
      [...books.agents.values()].filter((a) => isListed(a)),
      (a) => v1Agent(books, a),
      agentFragments.in(books, 'v1'),
    ),
    recovered_agents: [...books.agents.values()]
      .filter((a) => a.link.state === 'recovered')
      .map((a) => a.info),
  };
}

/** GET_STATE's body; also what an operator event stream starts with. */
export function v1State(books: Books, list: ListMaker = eagerList): Json {
  return {
    get_tasks: v1Tasks(books, list),
    get_executors: v1Executors(books),
    get_frameworks: v1Frameworks(books),
    get_agents: v1Agents(books, list),
  };
}

/** GET_EXECUTORS (master.proto GetExecutors): `executors [{executor_info, agent_id}]`. */
export function v1Executors(books: Books): Json {
  return {
    executors: knownExecutors(books).map((e) => ({
      executor_info: { ...e.info, framework_id: e.frameworkId },
      agent_id: e.agentId,
    })),
  };
}

export function v1Frameworks(books: Books): Json {
  const executors = executorsByFramework(books);
  return {
    frameworks: [...books.frameworks.values()].map((f) =>
      v1Framework(books, f, executors.get(f.id.value) ?? []),
    ),
    completed_frameworks: books.completedFrameworks.map((f) =>
      v1Framework(books, f, executors.get(f.id.value) ?? []),
    ),
  };
}

// ---------------------------------------------------------------- roles, quota

/** GET_ROLES: `resources` holds cpus, mem, disk and gpus offered or used, as Resource messages. */
export function v1Roles(roles: readonly RoleBreakdown[]): Json[] {
  return roles.map((role) => ({
    name: role.name,
    weight: role.weight,
    frameworks: role.frameworkIds.map((value) => ({ value })),
    resources: ['cpus', 'mem', 'disk', 'gpus'].flatMap((name) => {
      const value = (role.allocated[name] ?? 0) + (role.offered[name] ?? 0);
      return value === 0 ? [] : [{ name, type: 'SCALAR', scalar: { value } }];
    }),
  }));
}

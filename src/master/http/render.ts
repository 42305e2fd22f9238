// JSON shapes of the master's state: the legacy endpoints' (WIRE §7.2) and the
// v1 operator API's (WIRE §6.1). Read-only views over the books.

import type { QuotaConfig } from '../../allocator/index.js';
import { type Resources, summarize, summarizeAttributes } from '../../resources/index.js';
import { MESOS_API_VERSION, nanosFromMs, type Task } from '../../wire/index.js';
import type { ReadonlyBooks as Books } from '../core/books.js';
import { frameworkRoles, hasCapability } from '../core/framework-info.js';
import type { AgentRecord, FrameworkRecord, OfferRecord, TaskRecord } from '../core/records.js';
import type { RoleBreakdown } from '../core/roles.js';

type Json = Record<string, unknown>;

/** Agents the endpoints list: registered ones, connected or not (Mesos lists unreachable ones apart). */
const isListed = (agent: AgentRecord) =>
  agent.link.state === 'connected' || agent.link.state === 'disconnected';

export const agentPid = (agent: AgentRecord): string =>
  `slave(1)@${agent.ip}:${agent.info.port ?? 5051}`;

export const AGENT_CAPABILITIES = [
  'MULTI_ROLE',
  'HIERARCHICAL_ROLE',
  'RESERVATION_REFINEMENT',
] as const;

function reservedByRole(resources: Resources): Record<string, Record<string, number | string>> {
  return Object.fromEntries(
    resources.reservedRoles().map((role) => [role, summarize(resources.reserved(role))]),
  );
}

export function legacyTask(task: TaskRecord): Json {
  return {
    id: task.taskId.value,
    name: task.info.name,
    framework_id: task.frameworkId.value,
    executor_id: '',
    slave_id: task.agentId.value,
    state: task.state,
    resources: summarize(task.resources),
    role: task.role,
    statuses: task.statuses.map((s) => ({
      state: s.state,
      timestamp: s.timestamp,
      ...(s.container_status !== undefined ? { container_status: s.container_status } : {}),
      ...(s.healthy !== undefined ? { healthy: s.healthy } : {}),
    })),
    ...(task.info.labels !== undefined ? { labels: task.info.labels.labels } : {}),
    ...(task.info.health_check !== undefined ? { health_check: task.info.health_check } : {}),
  };
}

export function legacyOffer(offer: OfferRecord): Json {
  return {
    id: offer.offer.id.value,
    framework_id: offer.frameworkId.value,
    slave_id: offer.agentId.value,
    allocation_info: { role: offer.role },
    resources: summarize(offer.resources),
  };
}

export function legacyFramework(books: Books, framework: FrameworkRecord): Json {
  const used = books.usedBy(framework);
  const offered = books.offeredTo(framework);
  const info = framework.info;
  const tasks = [...framework.tasks.values()];
  return {
    id: framework.id.value,
    name: info.name,
    used_resources: summarize(used),
    offered_resources: summarize(offered),
    capabilities: (info.capabilities ?? []).map((c) => c.type),
    hostname: info.hostname ?? '',
    webui_url: info.webui_url ?? '',
    active: framework.link.state === 'connected',
    connected: framework.link.state === 'connected',
    recovered: framework.link.state === 'recovered',
    user: info.user,
    failover_timeout: info.failover_timeout ?? 0,
    checkpoint: info.checkpoint ?? false,
    registered_time: framework.registeredTimeSec,
    unregistered_time: framework.unregisteredTimeSec ?? 0,
    ...(framework.reregisteredTimeSec !== undefined
      ? { reregistered_time: framework.reregisteredTimeSec }
      : {}),
    ...(info.principal !== undefined ? { principal: info.principal } : {}),
    resources: summarize(used.plus(offered)),
    ...(hasCapability(info, 'MULTI_ROLE')
      ? { roles: frameworkRoles(info) }
      : { role: info.role ?? '*' }),
    tasks: tasks.filter((t) => t.state !== 'TASK_UNREACHABLE').map(legacyTask),
    unreachable_tasks: tasks.filter((t) => t.state === 'TASK_UNREACHABLE').map(legacyTask),
    completed_tasks: framework.completedTasks.map(legacyTask),
    offers: [...framework.offers].flatMap((id) => {
      const offer = books.offers.get(id);
      return offer === undefined ? [] : [legacyOffer(offer)];
    }),
    executors: [],
    ...(info.labels !== undefined ? { labels: info.labels.labels } : {}),
  };
}

export function legacyAgent(books: Books, agent: AgentRecord): Json {
  return {
    id: agent.id.value,
    hostname: agent.info.hostname,
    port: agent.info.port ?? 5051,
    attributes: summarizeAttributes(agent.info.attributes ?? []),
    pid: agentPid(agent),
    registered_time: agent.registeredTimeSec,
    ...(agent.reregisteredTimeSec !== undefined
      ? { reregistered_time: agent.reregisteredTimeSec }
      : {}),
    resources: summarize(agent.total),
    used_resources: summarize(books.usedOn(agent).unallocate()),
    offered_resources: summarize(books.offeredOn(agent).unallocate()),
    reserved_resources: reservedByRole(agent.total),
    unreserved_resources: summarize(agent.total.unreserved()),
    active: agent.link.state === 'connected',
    deactivated: false,
    version: agent.version,
    capabilities: AGENT_CAPABILITIES,
  };
}

/** An agent known from the registry that has not re-registered since a master restart. */
export function recoveredAgent(agent: AgentRecord): Json {
  return {
    id: agent.id.value,
    hostname: agent.info.hostname,
    port: agent.info.port ?? 5051,
    resources: summarize(agent.total),
    attributes: summarizeAttributes(agent.info.attributes ?? []),
  };
}

export interface MasterView {
  readonly id: string;
  readonly pid: string;
  readonly hostname: string;
  readonly startTimeSec: number;
  readonly flags: Readonly<Record<string, string>>;
}

export function legacyState(books: Books, master: MasterView): Json {
  const agents = [...books.agents.values()];
  return {
    version: MESOS_API_VERSION,
    build_date: '',
    build_time: 0,
    build_user: '',
    start_time: master.startTimeSec,
    elected_time: master.startTimeSec,
    id: master.id,
    pid: master.pid,
    hostname: master.hostname,
    capabilities: ['AGENT_UPDATE'],
    activated_slaves: agents.filter((a) => a.link.state === 'connected').length,
    deactivated_slaves: 0,
    unreachable_slaves: agents.filter((a) => a.link.state === 'unreachable').length,
    leader: master.pid,
    leader_info: { id: master.id, pid: master.pid, hostname: master.hostname },
    flags: master.flags,
    slaves: agents.filter((a) => isListed(a)).map((a) => legacyAgent(books, a)),
    recovered_slaves: agents.filter((a) => a.link.state === 'recovered').map(recoveredAgent),
    frameworks: [...books.frameworks.values()].map((f) => legacyFramework(books, f)),
    completed_frameworks: books.completedFrameworks.map((f) => legacyFramework(books, f)),
    orphan_tasks: [],
    unregistered_frameworks: [],
  };
}

// ---------------------------------------------------------------- v1 operator

const timeInfo = (sec: number) => ({ nanoseconds: nanosFromMs(sec * 1000) });

export function v1Task(task: TaskRecord): Task {
  return {
    name: task.info.name,
    task_id: task.taskId,
    framework_id: task.frameworkId,
    agent_id: task.agentId,
    state: task.state,
    resources: task.resources.toWire('post-refinement'),
    statuses: task.statuses,
    ...(task.statusUpdateState !== undefined
      ? { status_update_state: task.statusUpdateState }
      : {}),
    ...(task.statusUpdateUuid !== undefined ? { status_update_uuid: task.statusUpdateUuid } : {}),
    ...(task.info.labels !== undefined ? { labels: task.info.labels } : {}),
  };
}

export function v1Agent(books: Books, agent: AgentRecord): Json {
  return {
    agent_info: agent.info,
    active: agent.link.state === 'connected',
    deactivated: false,
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
  };
}

export function v1Framework(books: Books, framework: FrameworkRecord): Json {
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
    allocated_resources: books.usedBy(framework).toWire('post-refinement'),
    offered_resources: books.offeredTo(framework).toWire('post-refinement'),
  };
}

export function v1Tasks(books: Books): Json {
  const active: Task[] = [];
  const unreachable: Task[] = [];
  const completed: Task[] = [];
  for (const framework of [...books.frameworks.values(), ...books.completedFrameworks]) {
    for (const task of framework.tasks.values())
      (task.state === 'TASK_UNREACHABLE' ? unreachable : active).push(v1Task(task));
    for (const task of framework.completedTasks) completed.push(v1Task(task));
  }
  return { tasks: active, unreachable_tasks: unreachable, completed_tasks: completed };
}

export function v1Agents(books: Books): Json {
  return {
    agents: [...books.agents.values()].filter((a) => isListed(a)).map((a) => v1Agent(books, a)),
    recovered_agents: [...books.agents.values()]
      .filter((a) => a.link.state === 'recovered')
      .map((a) => a.info),
  };
}

/** GET_STATE's body; also what an operator event stream starts with. */
export function v1State(books: Books): Json {
  return {
    get_tasks: v1Tasks(books),
    get_executors: { executors: [], completed_executors: [] },
    get_frameworks: v1Frameworks(books),
    get_agents: v1Agents(books),
  };
}

export function v1Frameworks(books: Books): Json {
  return {
    frameworks: [...books.frameworks.values()].map((f) => v1Framework(books, f)),
    completed_frameworks: books.completedFrameworks.map((f) => v1Framework(books, f)),
  };
}

// ---------------------------------------------------------------- roles, quota

const scalarMap = (values: Readonly<Record<string, number>>) =>
  Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { value }]));

/** `/roles` (Mesos 1.9+): quota with singular `guarantee`/`limit` and `consumed`, subtree sums. */
export function legacyRoles(roles: readonly RoleBreakdown[]): Json {
  return {
    roles: roles.map((role) => {
      const resources: Record<string, number> = { ...role.allocated };
      for (const [name, value] of Object.entries(role.offered))
        resources[name] = (resources[name] ?? 0) + value;
      return {
        name: role.name,
        weight: role.weight,
        quota: {
          role: role.name,
          guarantee: role.quota?.guarantees ?? {},
          limit: role.quota?.limits ?? {},
          consumed: role.consumed,
        },
        resources,
        allocated: role.allocated,
        offered: role.offered,
        reserved: role.reserved,
        frameworks: role.frameworkIds,
      };
    }),
  };
}

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

/** QuotaStatus: `configs` (1.9+) and the deprecated `infos` with guarantees as resources. */
export function quotaStatus(quotas: ReadonlyMap<string, QuotaConfig>): Json {
  const configs = [...quotas.values()].sort((a, b) => (a.role < b.role ? -1 : 1));
  return {
    infos: configs
      .filter((config) => Object.keys(config.guarantees).length > 0)
      .map((config) => ({
        role: config.role,
        guarantee: Object.entries(config.guarantees).map(([name, value]) => ({
          name,
          type: 'SCALAR',
          scalar: { value },
        })),
      })),
    configs: configs.map((config) => ({
      role: config.role,
      ...(Object.keys(config.guarantees).length > 0
        ? { guarantees: scalarMap(config.guarantees) }
        : {}),
      ...(Object.keys(config.limits).length > 0 ? { limits: scalarMap(config.limits) } : {}),
    })),
  };
}

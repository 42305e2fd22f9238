// JSON shapes of the master's state: the legacy endpoints' (WIRE §7.2) and the
// operator API's roles, quota and maintenance (WIRE §6.1; render-v1.ts has the
// rest of v1). Read-only views over the books.

import type { QuotaConfig } from '../../allocator/index.js';
import { type Resources, summarize, summarizeAttributes } from '../../resources/index.js';
import { lazyList } from '../../runtime/index.js';
import {
  type DomainInfo,
  type KeptRenderings,
  type MachineID,
  MESOS_API_VERSION,
  machineKey,
  nanosFromMs,
  type TaskInfo,
} from '../../wire/index.js';
import type { ReadonlyBooks as Books } from '../core/books.js';
import { frameworkRoles, hasCapability } from '../core/framework-info.js';
import { agentMachineId } from '../core/machines.js';
import type {
  AgentRecord,
  ExecutorRecord,
  FrameworkRecord,
  InverseOfferStatus,
  OfferRecord,
  TaskRecord,
} from '../core/records.js';
import type { RoleBreakdown } from '../core/roles.js';
import { agentFragments, taskFragments } from './fragments.js';

export type Json = Record<string, unknown>;

/**
 * How a rendering makes its long lists (agents, tasks): arrays at once, or, for a reply
 * streamed by streamJson, LazyLists whose items are rendered as they are written.
 */
export type ListMaker = <T>(
  items: Iterable<T>,
  render: (item: T) => unknown,
  kept?: KeptRenderings<T>,
) => unknown;
export const eagerList: ListMaker = (items, render) => Array.from(items, (item) => render(item));
export const streamedList: ListMaker = lazyList;

export const timeInfo = (sec: number) => ({ nanoseconds: nanosFromMs(sec * 1000) });

/**
 * VersionInfo (WIRE §6.1, §7.5), for GET_VERSION, `/version` and `/master/state`. Agora
 * records no build date, time or user; they are present and empty, as clients expect them.
 */
export function versionInfo(): {
  readonly version: string;
  readonly build_date: string;
  readonly build_time: number;
  readonly build_user: string;
} {
  return { version: MESOS_API_VERSION, build_date: '', build_time: 0, build_user: '' };
}

/**
 * The executors the master knows (launched with a task group or an
 * ExecutorInfo, until the agent reports them gone), of one framework or all.
 * Command tasks have none the master hears of (Mesos lists none either).
 */
export function knownExecutors(books: Books, framework?: FrameworkRecord): ExecutorRecord[] {
  return books.executorsOf(framework);
}

/** Every known executor by framework id value, read in one pass over the agents. */
export function executorsByFramework(books: Books): ReadonlyMap<string, ExecutorRecord[]> {
  const byFramework = new Map<string, ExecutorRecord[]>();
  for (const executor of books.executorsOf()) {
    const id = executor.frameworkId.value;
    const list = byFramework.get(id);
    if (list === undefined) byFramework.set(id, [executor]);
    else list.push(executor);
  }
  return byFramework;
}

/** Agents the endpoints list: registered ones, connected or not (Mesos lists unreachable ones apart). */
export const isListed = (agent: AgentRecord): boolean =>
  agent.link.state === 'connected' || agent.link.state === 'disconnected';

export const agentPid = (agent: AgentRecord): string =>
  `slave(1)@${agent.ip}:${agent.info.port ?? 5051}`;

export const AGENT_CAPABILITIES = [
  'MULTI_ROLE',
  'HIERARCHICAL_ROLE',
  'RESERVATION_REFINEMENT',
  'AGENT_DRAINING',
] as const;

/** Offered, as far as the operator can tell: connected and not deactivated (Mesos' `active`). */
export const isActive = (agent: AgentRecord) =>
  agent.link.state === 'connected' && !agent.isDeactivated;

/** mesos.proto DrainInfo, when the agent drains or drained. */
export function drainInfo(agent: AgentRecord): Json {
  if (agent.drain === undefined) return {};
  return { drain_info: { state: agent.drain.state, config: agent.drain.config } };
}

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
    executor_id: task.group?.executorId.value ?? task.info.executor?.executor_id.value ?? '',
    slave_id: task.agentId.value,
    state: task.state,
    resources: summarize(task.resources),
    role: task.role,
    statuses: task.statuses.map((s) => ({
      state: s.state,
      timestamp: s.timestamp,
      ...(s.labels !== undefined ? { labels: s.labels.labels } : {}),
      ...(s.container_status !== undefined ? { container_status: s.container_status } : {}),
      ...(s.healthy !== undefined ? { healthy: s.healthy } : {}),
    })),
    ...(task.info.labels !== undefined ? { labels: task.info.labels.labels } : {}),
    ...(task.info.container !== undefined ? { container: task.info.container } : {}),
    ...(task.info.health_check !== undefined ? { health_check: task.info.health_check } : {}),
    // Bare values, as Mesos' /state renders a Task's limits ('Infinity' for none).
    ...(hasLimits(task.info.limits) ? { limits: task.info.limits } : {}),
    ...(task.info.user !== undefined ? { user: task.info.user } : {}),
  };
}

/** Whether a task has limits to show: Mesos leaves an empty map out. */
export function hasLimits(limits: TaskInfo['limits']): limits is NonNullable<TaskInfo['limits']> {
  return limits !== undefined && Object.keys(limits).length > 0;
}

/** Each task's legacy JSON, kept until the task changes (fragments.ts). */
export const legacyTasks = taskFragments.in(undefined, 'legacy');

export function legacyOffer(offer: OfferRecord): Json {
  return {
    id: offer.offer.id.value,
    framework_id: offer.frameworkId.value,
    slave_id: offer.agentId.value,
    allocation_info: { role: offer.role },
    resources: summarize(offer.resources),
  };
}

/** What every legacy endpoint says of a framework (Mesos' `Summary<Framework>`). */
export function frameworkSummary(
  books: Books,
  framework: FrameworkRecord,
  // legacyFramework passes its own sums: each is a fold over every task of the framework.
  used = books.usedBy(framework),
  offered = books.offeredTo(framework),
): Json {
  const info = framework.info;
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
  };
}

export function legacyFramework(
  books: Books,
  framework: FrameworkRecord,
  list: ListMaker = eagerList,
  // legacyState passes each framework's, read once for all of them.
  executors = knownExecutors(books, framework),
): Json {
  const used = books.usedBy(framework, executors);
  const offered = books.offeredTo(framework);
  const info = framework.info;
  const tasks = [...framework.tasks.values()];
  return {
    ...frameworkSummary(books, framework, used, offered),
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
    tasks: list(
      tasks.filter((t) => t.state !== 'TASK_UNREACHABLE'),
      legacyTask,
      legacyTasks,
    ),
    unreachable_tasks: list(
      tasks.filter((t) => t.state === 'TASK_UNREACHABLE'),
      legacyTask,
      legacyTasks,
    ),
    completed_tasks: list(framework.completedTasks, legacyTask, legacyTasks),
    offers: [...framework.offers].flatMap((id) => {
      const offer = books.offers.get(id);
      return offer === undefined ? [] : [legacyOffer(offer)];
    }),
    executors: executors.map(legacyExecutor),
    ...(info.labels !== undefined ? { labels: info.labels.labels } : {}),
    ...(framework.offerConstraintsGiven !== undefined
      ? { offer_constraints: framework.offerConstraintsGiven }
      : {}),
  };
}

/** An executor as `/master/state` lists it under its framework (WIRE §7.2). */
export function legacyExecutor(executor: ExecutorRecord): Json {
  const { info } = executor;
  return {
    executor_id: executor.executorId.value,
    name: info.name ?? '',
    framework_id: executor.frameworkId.value,
    command: {
      ...(info.command?.shell !== undefined ? { shell: info.command.shell } : {}),
      ...(info.command?.value !== undefined ? { value: info.command.value } : {}),
      argv: info.command?.arguments ?? [],
      uris: (info.command?.uris ?? []).map((uri) => ({
        value: uri.value,
        executable: uri.executable ?? false,
      })),
    },
    resources: summarize(executor.resources),
    role: executor.role,
    ...(info.type !== undefined ? { type: info.type } : {}),
    ...(info.labels !== undefined ? { labels: info.labels.labels } : {}),
    slave_id: executor.agentId.value,
  };
}

export function legacyAgent(books: Books, agent: AgentRecord): Json {
  return {
    id: agent.id.value,
    hostname: agent.info.hostname,
    port: agent.info.port ?? 5051,
    attributes: summarizeAttributes(agent.info.attributes ?? []),
    ...(agent.info.domain !== undefined ? { domain: agent.info.domain } : {}),
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
    // Where operators find persistent volumes to destroy (docs/persistent-volume.md).
    reserved_resources_full: Object.fromEntries(
      agent.total
        .reservedRoles()
        .map((role) => [role, agent.total.reserved(role).toWire('endpoint')]),
    ),
    unreserved_resources_full: agent.total.unreserved().toWire('endpoint'),
    active: isActive(agent),
    deactivated: agent.isDeactivated,
    version: agent.version,
    capabilities: AGENT_CAPABILITIES,
    ...drainInfo(agent),
    ...(agent.drain?.startedAtSec !== undefined
      ? { estimated_drain_start_time_seconds: agent.drain.startedAtSec }
      : {}),
  };
}

/**
 * `/master/slaves` adds each agent's resources in full, reservations and
 * volumes included, which the summaries leave out: operators read them to
 * write /unreserve and /destroy-volumes requests (Mesos' SlavesWriter).
 */
export function legacyAgentFull(books: Books, agent: AgentRecord): Json {
  return {
    ...legacyAgent(books, agent),
    reserved_resources_full: Object.fromEntries(
      agent.total
        .reservedRoles()
        .map((role) => [role, agent.total.reserved(role).toWire('endpoint')]),
    ),
    unreserved_resources_full: agent.total.unreserved().toWire('endpoint'),
    used_resources_full: books.usedOn(agent).unallocate().toWire('endpoint'),
    offered_resources_full: books.offeredOn(agent).unallocate().toWire('endpoint'),
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
    ...(agent.info.domain !== undefined ? { domain: agent.info.domain } : {}),
  };
}

export interface MasterView {
  readonly id: string;
  readonly pid: string;
  readonly hostname: string;
  readonly startTimeSec: number;
  readonly flags: Readonly<Record<string, string>>;
  /** False when /state leaves `flags` out (view_flags denies); cluster and log_dir stay. */
  readonly isFlagsShown?: boolean;
  readonly domain?: DomainInfo;
}

export function legacyState(books: Books, master: MasterView, list: ListMaker = eagerList): Json {
  const agents = [...books.agents.values()];
  const executors = executorsByFramework(books);
  return {
    ...versionInfo(),
    start_time: master.startTimeSec,
    elected_time: master.startTimeSec,
    id: master.id,
    pid: master.pid,
    hostname: master.hostname,
    capabilities: ['AGENT_UPDATE', 'AGENT_DRAINING'],
    activated_slaves: agents.filter(isActive).length,
    deactivated_slaves: agents.filter((a) => isListed(a) && !isActive(a)).length,
    unreachable_slaves: agents.filter((a) => a.link.state === 'unreachable').length,
    ...(master.domain !== undefined ? { domain: master.domain } : {}),
    leader: master.pid,
    leader_info: {
      id: master.id,
      pid: master.pid,
      hostname: master.hostname,
      ...(master.domain !== undefined ? { domain: master.domain } : {}),
    },
    ...(master.flags.cluster !== undefined ? { cluster: master.flags.cluster } : {}),
    ...(master.flags.log_dir !== undefined ? { log_dir: master.flags.log_dir } : {}),
    ...(master.flags.external_log_file !== undefined
      ? { external_log_file: master.flags.external_log_file }
      : {}),
    ...(master.isFlagsShown !== false ? { flags: master.flags } : {}),
    slaves: list(
      agents.filter((a) => isListed(a)),
      (a) => legacyAgent(books, a),
      agentFragments.in(books, 'legacy'),
    ),
    recovered_slaves: list(
      agents.filter((a) => a.link.state === 'recovered'),
      recoveredAgent,
    ),
    // Frameworks are few; each is rendered at once but for its task lists.
    frameworks: [...books.frameworks.values()].map((f) =>
      legacyFramework(books, f, list, executors.get(f.id.value) ?? []),
    ),
    completed_frameworks: books.completedFrameworks.map((f) =>
      legacyFramework(books, f, list, executors.get(f.id.value) ?? []),
    ),
    orphan_tasks: [],
    unregistered_frameworks: [],
  };
}

// ---------------------------------------------------------------- v1 operator

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

// ---------------------------------------------------------------- maintenance

function inverseOfferStatus(status: InverseOfferStatus): Json {
  return {
    status: status.status,
    framework_id: status.frameworkId,
    timestamp: timeInfo(status.timestampSec),
  };
}

/**
 * maintenance.proto ClusterStatus: each DRAINING machine with the latest
 * answers of frameworks to inverse offers for its agents, and the DOWN
 * machines. Empty lists are left out, as stout writes repeated fields.
 */
export function maintenanceStatus(books: Books): Json {
  const statusesOn = new Map<string, Json[]>();
  for (const agent of books.agents.values()) {
    if (agent.link.state !== 'connected' && agent.link.state !== 'disconnected') continue;
    if (agent.inverseOfferStatuses.size === 0) continue;
    const key = machineKey(agentMachineId(agent));
    const list = statusesOn.get(key) ?? [];
    for (const status of agent.inverseOfferStatuses.values()) list.push(inverseOfferStatus(status));
    statusesOn.set(key, list);
  }
  const draining: Json[] = [];
  const down: MachineID[] = [];
  for (const [key, machine] of books.machines) {
    if (machine.mode === 'DOWN') {
      down.push(machine.id);
      continue;
    }
    const statuses = statusesOn.get(key) ?? [];
    draining.push({ id: machine.id, ...(statuses.length > 0 ? { statuses } : {}) });
  }
  return {
    ...(draining.length > 0 ? { draining_machines: draining } : {}),
    ...(down.length > 0 ? { down_machines: down } : {}),
  };
}

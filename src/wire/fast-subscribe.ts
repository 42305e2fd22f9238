// The agents' SUBSCRIBE in its plain form, checked by hand (fast-calls.ts says how and why):
// 10,000 agents re-registering with their tasks after a master failover spent some 9% of
// the master's CPU in zod.
import type {
  AgentCall,
  AgentReport,
  AgentSubscribe,
  AgentTask,
  CompactTask,
  ReportedFramework,
  ReportedTask,
} from './agent-protocol.js';
import { durationSecondsProblem } from './duration.js';
import {
  compactTaskInfo,
  hasOnly,
  ID_KEYS,
  id,
  isFiniteNumber,
  isObject,
  isText,
  type Json,
  plainResources,
  TASK_STATE_SET,
  taskInfo,
} from './fast-checks.js';
import type { AgentID, FrameworkID } from './ids.js';
import { jsonEqual } from './json-equal.js';
import {
  MAX_CAPABILITIES,
  MAX_HOSTNAME_LENGTH,
  MAX_KEY_LENGTH,
  MAX_NAME_LENGTH,
  MAX_PRINCIPAL_LENGTH,
  MAX_REPORTED_FRAMEWORKS,
  MAX_ROLE_BYTES,
  MAX_ROLES,
  MAX_TASKS,
  MAX_URL_LENGTH,
  MAX_USER_LENGTH,
} from './limits.js';
import {
  type AgentInfo,
  FRAMEWORK_CAPABILITY_TYPES,
  type FrameworkInfo,
  type Resource,
} from './messages.js';

const SUBSCRIBE_CALL_KEYS: ReadonlySet<string> = new Set(['type', 'agent_id', 'subscribe']);
// checkpointed_resources (reservations, volumes) go to zod.
const SUBSCRIBE_KEYS: ReadonlySet<string> = new Set([
  'agent_info',
  'version',
  'frameworks',
  'task_resources',
  'tasks',
]);
// attributes and domain go to zod.
const AGENT_INFO_KEYS: ReadonlySet<string> = new Set(['hostname', 'port', 'resources', 'id']);
const AGENT_TASK_KEYS: ReadonlySet<string> = new Set([
  'framework_id',
  'framework_info',
  'task',
  'state',
]);
const REPORTED_TASK_KEYS: ReadonlySet<string> = new Set(['framework_id', 'task', 'state']);
const COMPACT_TASK_KEYS: ReadonlySet<string> = new Set([
  'framework_id',
  'task',
  'resources_index',
  'state',
]);
const REPORTED_FRAMEWORK_KEYS: ReadonlySet<string> = new Set(['framework_id', 'framework_info']);
// labels and offer_filters go to zod.
const FRAMEWORK_INFO_KEYS: ReadonlySet<string> = new Set([
  'user',
  'name',
  'id',
  'failover_timeout',
  'checkpoint',
  'role',
  'roles',
  'hostname',
  'principal',
  'webui_url',
  'capabilities',
]);
const CAPABILITY_KEYS: ReadonlySet<string> = new Set(['type']);
const FRAMEWORK_CAPABILITIES: ReadonlySet<string> = new Set(FRAMEWORK_CAPABILITY_TYPES);

/** An agent's SUBSCRIBE (type checked by the caller), or `undefined`: then zod decides. */
export function fastAgentSubscribe(input: Json): AgentCall | undefined {
  if (!hasOnly(input, SUBSCRIBE_CALL_KEYS)) return undefined;
  const agentId = input.agent_id === undefined ? undefined : id<AgentID>(input.agent_id);
  if (input.agent_id !== undefined && agentId === undefined) return undefined;
  const body = input.subscribe;
  if (!isObject(body) || !hasOnly(body, SUBSCRIBE_KEYS)) return undefined;
  const agent_info = agentInfo(body.agent_info);
  if (agent_info === undefined || !isText(body.version, MAX_KEY_LENGTH)) return undefined;
  const version = body.version;
  let subscribe: AgentSubscribe;
  if (body.frameworks === undefined) {
    if (body.task_resources !== undefined) return undefined;
    if (body.tasks === undefined) subscribe = { agent_info, version };
    else {
      const tasks = perTask(body.tasks);
      if (tasks === undefined) return undefined;
      subscribe = { agent_info, version, tasks };
    }
  } else {
    const frameworks = ListedFrameworks.of(body.frameworks);
    if (frameworks === undefined) return undefined;
    if (body.task_resources !== undefined) {
      const report = compact(body.task_resources, body.tasks, frameworks);
      if (report === undefined) return undefined;
      subscribe = { agent_info, version, ...report };
    } else if (body.tasks === undefined)
      subscribe = { agent_info, version, frameworks: frameworks.list };
    else {
      const tasks = frameworksOnce(body.tasks, frameworks);
      if (tasks === undefined) return undefined;
      subscribe = { agent_info, version, frameworks: frameworks.list, tasks };
    }
  }
  return agentId === undefined
    ? { type: 'SUBSCRIBE', subscribe }
    : { type: 'SUBSCRIBE', agent_id: agentId, subscribe };
}

/** The per-task report's tasks, each with its framework's FrameworkInfo. */
function perTask(list: unknown): AgentTask[] | undefined {
  if (!Array.isArray(list) || list.length > MAX_TASKS) return undefined;
  const tasks: AgentTask[] = [];
  const seen = new SeenParts();
  for (const item of list) {
    const task = agentTask(item, seen);
    if (task === undefined) return undefined;
    tasks.push(task);
  }
  return tasks;
}

/**
 * The frameworks-once report's `frameworks`, checked, with each one's checked id: a task's
 * framework_id is taken as the listed one's when its value is listed (the value was checked
 * there), so a report's tasks share one id per framework and refer only to listed ones.
 */
class ListedFrameworks {
  private last: FrameworkID | undefined = undefined;

  private constructor(
    readonly list: readonly ReportedFramework[],
    private readonly byValue: ReadonlyMap<string, FrameworkID>,
  ) {}

  /** Undefined for a framework listed twice too: the schema words that. */
  static of(value: unknown): ListedFrameworks | undefined {
    if (!Array.isArray(value) || value.length > MAX_REPORTED_FRAMEWORKS) return undefined;
    const list: ReportedFramework[] = [];
    const byValue = new Map<string, FrameworkID>();
    for (const item of value) {
      if (!isObject(item) || !hasOnly(item, REPORTED_FRAMEWORK_KEYS)) return undefined;
      const framework_id = id<FrameworkID>(item.framework_id);
      const framework_info = frameworkInfo(item.framework_info);
      if (framework_id === undefined || framework_info === undefined) return undefined;
      if (byValue.has(framework_id.value)) return undefined;
      byValue.set(framework_id.value, framework_id);
      list.push({ framework_id, framework_info });
    }
    return new ListedFrameworks(list, byValue);
  }

  /** The listed id a task's framework_id names, or undefined (not an id, or not listed). */
  idOf(value: unknown): FrameworkID | undefined {
    if (!isObject(value) || !hasOnly(value, ID_KEYS)) return undefined;
    const text = value.value;
    if (typeof text !== 'string') return undefined;
    const last = this.last;
    if (last !== undefined && last.value === text) return last;
    this.last = this.byValue.get(text);
    return this.last;
  }
}

/** The frameworks-once report's tasks: no framework_info, each framework among `listed`. */
function frameworksOnce(list: unknown, listed: ListedFrameworks): ReportedTask[] | undefined {
  if (!Array.isArray(list) || list.length > MAX_TASKS) return undefined;
  const tasks: ReportedTask[] = [];
  const seen = new SeenParts();
  for (const item of list) {
    if (!isObject(item) || !hasOnly(item, REPORTED_TASK_KEYS)) return undefined;
    const framework_id = listed.idOf(item.framework_id);
    const task = taskInfo(item.task, true, seen.readResources);
    const state = item.state;
    if (framework_id === undefined || task === undefined) return undefined;
    if (typeof state !== 'string' || !TASK_STATE_SET.has(state)) return undefined;
    tasks.push({ framework_id, task, state: state as ReportedTask['state'] });
  }
  return tasks;
}

/**
 * The compact report's table and tasks: each list of the table checked once (the tasks naming
 * it share the checked copy), no more lists than tasks, and every task without resources or
 * agent_id of its own and with its index in the table, if it has one.
 */
function compact(
  tableGiven: unknown,
  list: unknown,
  listed: ListedFrameworks,
): Extract<AgentReport, { task_resources: object }> | undefined {
  const given = list === undefined ? [] : list;
  if (!Array.isArray(tableGiven) || !Array.isArray(given) || given.length > MAX_TASKS)
    return undefined;
  if (tableGiven.length > given.length) return undefined;
  const table: Resource[][] = [];
  for (const item of tableGiven) {
    const resources = plainResources(item, true);
    if (resources === undefined) return undefined;
    table.push(resources);
  }
  const tasks: CompactTask[] = [];
  for (const item of given) {
    if (!isObject(item) || !hasOnly(item, COMPACT_TASK_KEYS)) return undefined;
    const framework_id = listed.idOf(item.framework_id);
    const task = compactTaskInfo(item.task);
    const { state, resources_index } = item;
    if (framework_id === undefined || task === undefined) return undefined;
    if (typeof state !== 'string' || !TASK_STATE_SET.has(state)) return undefined;
    if (resources_index === undefined) {
      tasks.push({ framework_id, task, state: state as CompactTask['state'] });
      continue;
    }
    if (typeof resources_index !== 'number' || !Number.isInteger(resources_index)) return undefined;
    if (resources_index < 0 || resources_index >= table.length) return undefined;
    tasks.push({ framework_id, task, resources_index, state: state as CompactTask['state'] });
  }
  return list === undefined
    ? { frameworks: listed.list, task_resources: table }
    : { frameworks: listed.list, task_resources: table, tasks };
}

function agentInfo(value: unknown): AgentInfo | undefined {
  if (!isObject(value) || !hasOnly(value, AGENT_INFO_KEYS)) return undefined;
  const hostname = value.hostname;
  if (!isText(hostname, MAX_HOSTNAME_LENGTH) || hostname.length === 0) return undefined;
  const info: { -readonly [K in keyof AgentInfo]: AgentInfo[K] } = { hostname };
  if (value.port !== undefined) {
    if (!isFiniteNumber(value.port)) return undefined;
    info.port = value.port;
  }
  if (value.resources !== undefined) {
    const resources = plainResources(value.resources, false);
    if (resources === undefined) return undefined;
    info.resources = resources;
  }
  if (value.id !== undefined) {
    const agentId = id<AgentID>(value.id);
    if (agentId === undefined) return undefined;
    info.id = agentId;
  }
  return info;
}

/**
 * What the report's previous task checked, as given and as checked: a SUBSCRIBE repeats one
 * framework_id and framework_info per task of the framework, and a framework's tasks mostly
 * have the same resources. A part equal as JSON to the previous one's is taken as checked
 * (the checks read nothing else) and shares its checked copy: ~10 objects fewer per task, of
 * the ~150 per agent that a failover's 10,000 re-registrations made (#10). The copies are
 * never changed.
 */
class SeenParts {
  frameworkInfoGiven: unknown = undefined;
  frameworkInfo: FrameworkInfo | undefined = undefined;
  resourcesGiven: unknown = undefined;
  resources: Resource[] | undefined = undefined;
  frameworkId: FrameworkID | undefined = undefined;

  frameworkIdOf(value: unknown): FrameworkID | undefined {
    const known = this.frameworkId;
    if (
      known !== undefined &&
      isObject(value) &&
      value.value === known.value &&
      hasOnly(value, ID_KEYS)
    )
      return known;
    this.frameworkId = id<FrameworkID>(value);
    return this.frameworkId;
  }

  readonly readResources = (value: unknown): Resource[] | undefined => {
    if (this.resources !== undefined && jsonEqual(value, this.resourcesGiven))
      return this.resources;
    const resources = plainResources(value, true);
    this.resourcesGiven = value;
    this.resources = resources;
    return resources;
  };
}

function agentTask(value: unknown, seen: SeenParts): AgentTask | undefined {
  if (!isObject(value) || !hasOnly(value, AGENT_TASK_KEYS)) return undefined;
  const framework_id = seen.frameworkIdOf(value.framework_id);
  let framework_info: FrameworkInfo | undefined;
  if (seen.frameworkInfo !== undefined && jsonEqual(value.framework_info, seen.frameworkInfoGiven))
    framework_info = seen.frameworkInfo;
  else {
    framework_info = frameworkInfo(value.framework_info);
    seen.frameworkInfoGiven = value.framework_info;
    seen.frameworkInfo = framework_info;
  }
  const task = taskInfo(value.task, true, seen.readResources);
  const state = value.state;
  if (framework_id === undefined || framework_info === undefined || task === undefined)
    return undefined;
  if (typeof state !== 'string' || !TASK_STATE_SET.has(state)) return undefined;
  return { framework_id, framework_info, task, state: state as AgentTask['state'] };
}

const TEXT_FIELDS = [
  ['hostname', MAX_HOSTNAME_LENGTH],
  ['principal', MAX_PRINCIPAL_LENGTH],
  ['webui_url', MAX_URL_LENGTH],
] as const;

/** A FrameworkInfo without labels or offer filters; keys in the schema's order. */
function frameworkInfo(value: unknown): FrameworkInfo | undefined {
  if (!isObject(value) || !hasOnly(value, FRAMEWORK_INFO_KEYS)) return undefined;
  const { user, name } = value;
  if (!isText(user, MAX_USER_LENGTH) || !isText(name, MAX_NAME_LENGTH)) return undefined;
  const info: { -readonly [K in keyof FrameworkInfo]: FrameworkInfo[K] } = { user, name };
  if (value.id !== undefined) {
    const frameworkId = id<FrameworkID>(value.id);
    if (frameworkId === undefined) return undefined;
    info.id = frameworkId;
  }
  if (value.failover_timeout !== undefined) {
    const seconds = value.failover_timeout;
    if (!isFiniteNumber(seconds) || durationSecondsProblem(seconds) !== undefined) return undefined;
    info.failover_timeout = seconds;
  }
  if (value.checkpoint !== undefined) {
    if (typeof value.checkpoint !== 'boolean') return undefined;
    info.checkpoint = value.checkpoint;
  }
  // Only the size of a role is checked on the wire (what is in it, by the master: WIRE §1.8).
  if (value.role !== undefined) {
    if (!isText(value.role, MAX_ROLE_BYTES)) return undefined;
    info.role = value.role;
  }
  if (value.roles !== undefined) {
    const roles = value.roles;
    if (!Array.isArray(roles) || roles.length > MAX_ROLES) return undefined;
    for (const role of roles) if (!isText(role, MAX_ROLE_BYTES)) return undefined;
    info.roles = roles.slice() as string[];
  }
  for (const [key, max] of TEXT_FIELDS) {
    const text = value[key];
    if (text === undefined) continue;
    if (!isText(text, max)) return undefined;
    info[key] = text;
  }
  if (value.capabilities !== undefined) {
    // zod drops a capability it does not know (as Mesos does); such lists go to it.
    const list = value.capabilities;
    if (!Array.isArray(list) || list.length > MAX_CAPABILITIES) return undefined;
    const capabilities: { type: string }[] = [];
    for (const item of list) {
      if (!isObject(item) || !hasOnly(item, CAPABILITY_KEYS)) return undefined;
      if (typeof item.type !== 'string' || !FRAMEWORK_CAPABILITIES.has(item.type)) return undefined;
      capabilities.push({ type: item.type });
    }
    info.capabilities = capabilities as FrameworkInfo['capabilities'];
  }
  return info;
}

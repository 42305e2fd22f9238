// Hand-written checks for the calls a busy master gets thousands of times a second:
// ACKNOWLEDGE, ACCEPT of plain LAUNCHes and DECLINE from frameworks, UPDATE, UPDATES and PONG
// from agents. zod cost about a tenth of the master's CPU on them (bench/RESULTS.md, #8).
//
// Each check takes only the plain form its clients send (every key one it knows, every
// value of its JSON type: no `null`, no number written as a string) and returns what the
// zod schema would: a fresh object holding only the known keys. Anything else, valid or
// not, returns `undefined`, and the caller runs the zod schema, so every 400 still comes
// from schemas.ts with the same field and reason. A check here must therefore never take
// what the schema refuses; test/wire/fast-calls.test.ts compares the two.
import type { AgentCall, AgentStatusUpdate } from './agent-protocol.js';
import type { AgentID, ExecutorID, FrameworkID, OfferID, TaskID } from './ids.js';
import {
  MAX_AGENT_UPDATES,
  MAX_COMMAND_ENTRIES,
  MAX_COMMAND_STRING_LENGTH,
  MAX_DATA_LENGTH,
  MAX_ENUM_NAME_LENGTH,
  MAX_ID_BYTES,
  MAX_KEY_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LABELS,
  MAX_MESSAGE_LENGTH,
  MAX_NAME_LENGTH,
  MAX_OFFER_IDS,
  MAX_OPERATIONS,
  MAX_RESOURCE_NAME_LENGTH,
  MAX_RESOURCES,
  MAX_USER_LENGTH,
} from './limits.js';
import type { CommandInfo, Label, Resource, TaskInfo, TaskStatus } from './messages.js';
import type { Call, OfferOperation } from './scheduler.js';
import { isValidStatusUuid } from './status-uuid.js';
import { TASK_STATES } from './task-state.js';
import { utf8Length } from './text.js';

type Json = Readonly<Record<string, unknown>>;

/** A status uuid is 16 bytes: 24 base64 characters at most, padding included. */
const MAX_STATUS_UUID_LENGTH = 24;
const TASK_STATE_SET: ReadonlySet<string> = new Set(TASK_STATES);
const STATUS_SOURCES: ReadonlySet<string> = new Set([
  'SOURCE_MASTER',
  'SOURCE_AGENT',
  'SOURCE_EXECUTOR',
]);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when every key of `value` is one of `known` (so no key is left unchecked). */
function hasOnly(value: Json, known: ReadonlySet<string>): boolean {
  for (const key in value) if (!known.has(key)) return false;
  return true;
}

function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

const ID_KEYS: ReadonlySet<string> = new Set(['value']);

/** An id (`{value}`), as schemas.ts's idValue checks it. */
function id<T extends { readonly value: string }>(value: unknown): T | undefined {
  if (!isObject(value) || !hasOnly(value, ID_KEYS)) return undefined;
  const text = value.value;
  if (typeof text !== 'string' || text.length === 0) return undefined;
  if (utf8Length(text, MAX_ID_BYTES) > MAX_ID_BYTES) return undefined;
  return { value: text } as unknown as T;
}

function statusUuid(value: unknown): string | undefined {
  return isText(value, MAX_STATUS_UUID_LENGTH) && isValidStatusUuid(value) ? value : undefined;
}

// ------------------------------------------------------------------ scheduler calls

const ACKNOWLEDGE_CALL_KEYS: ReadonlySet<string> = new Set(['type', 'framework_id', 'acknowledge']);
const ACKNOWLEDGE_KEYS: ReadonlySet<string> = new Set(['agent_id', 'task_id', 'uuid']);
const ACCEPT_CALL_KEYS: ReadonlySet<string> = new Set(['type', 'framework_id', 'accept']);
const ACCEPT_KEYS: ReadonlySet<string> = new Set(['offer_ids', 'operations', 'filters']);
const DECLINE_CALL_KEYS: ReadonlySet<string> = new Set(['type', 'framework_id', 'decline']);
const DECLINE_KEYS: ReadonlySet<string> = new Set(['offer_ids', 'filters']);
const FILTERS_KEYS: ReadonlySet<string> = new Set(['refuse_seconds']);
const LAUNCH_KEYS: ReadonlySet<string> = new Set(['type', 'launch']);
const TASK_INFOS_KEYS: ReadonlySet<string> = new Set(['task_infos']);
const TASK_INFO_KEYS: ReadonlySet<string> = new Set([
  'name',
  'task_id',
  'agent_id',
  'resources',
  'command',
  'labels',
]);
const RESOURCE_KEYS: ReadonlySet<string> = new Set(['name', 'type', 'scalar']);
const COMMAND_KEYS: ReadonlySet<string> = new Set(['value', 'shell', 'arguments', 'user']);
const LABELS_KEYS: ReadonlySet<string> = new Set(['labels']);
const LABEL_KEYS: ReadonlySet<string> = new Set(['key', 'value']);

/**
 * A scheduler call in its plain form (ACKNOWLEDGE, DECLINE, ACCEPT of LAUNCHes of plain
 * command tasks), or `undefined`: then the zod schema decides.
 */
export function fastCall(input: unknown): Call | undefined {
  if (!isObject(input)) return undefined;
  const framework_id = id<FrameworkID>(input.framework_id);
  if (framework_id === undefined) return undefined;
  switch (input.type) {
    case 'ACKNOWLEDGE': {
      const body = input.acknowledge;
      if (!hasOnly(input, ACKNOWLEDGE_CALL_KEYS) || !isObject(body)) return undefined;
      if (!hasOnly(body, ACKNOWLEDGE_KEYS)) return undefined;
      const agent_id = id<AgentID>(body.agent_id);
      const task_id = id<TaskID>(body.task_id);
      const uuid = statusUuid(body.uuid);
      if (agent_id === undefined || task_id === undefined || uuid === undefined) return undefined;
      return { type: 'ACKNOWLEDGE', framework_id, acknowledge: { agent_id, task_id, uuid } };
    }
    case 'DECLINE': {
      const body = input.decline;
      if (!hasOnly(input, DECLINE_CALL_KEYS) || !isObject(body)) return undefined;
      if (!hasOnly(body, DECLINE_KEYS)) return undefined;
      const offer_ids = offerIds(body.offer_ids);
      const filters = body.filters === undefined ? {} : filtersOf(body.filters);
      if (offer_ids === undefined || filters === undefined) return undefined;
      return {
        type: 'DECLINE',
        framework_id,
        decline: body.filters === undefined ? { offer_ids } : { offer_ids, filters },
      };
    }
    case 'ACCEPT': {
      const body = input.accept;
      if (!hasOnly(input, ACCEPT_CALL_KEYS) || !isObject(body)) return undefined;
      if (!hasOnly(body, ACCEPT_KEYS)) return undefined;
      const offer_ids = offerIds(body.offer_ids);
      const filters = body.filters === undefined ? {} : filtersOf(body.filters);
      const operations = body.operations === undefined ? [] : launches(body.operations);
      if (offer_ids === undefined || filters === undefined || operations === undefined)
        return undefined;
      return {
        type: 'ACCEPT',
        framework_id,
        accept: {
          offer_ids,
          ...(body.operations === undefined ? {} : { operations }),
          ...(body.filters === undefined ? {} : { filters }),
        },
      };
    }
    default:
      return undefined;
  }
}

function offerIds(value: unknown): OfferID[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_OFFER_IDS) return undefined;
  const ids: OfferID[] = [];
  for (const item of value) {
    const one = id<OfferID>(item);
    if (one === undefined) return undefined;
    ids.push(one);
  }
  return ids;
}

function filtersOf(value: unknown): { refuse_seconds?: number } | undefined {
  if (!isObject(value) || !hasOnly(value, FILTERS_KEYS)) return undefined;
  if (value.refuse_seconds === undefined) return {};
  return isFiniteNumber(value.refuse_seconds)
    ? { refuse_seconds: value.refuse_seconds }
    : undefined;
}

function launches(value: unknown): OfferOperation[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_OPERATIONS) return undefined;
  const operations: OfferOperation[] = [];
  for (const operation of value) {
    if (!isObject(operation) || operation.type !== 'LAUNCH' || !hasOnly(operation, LAUNCH_KEYS))
      return undefined;
    const launch = operation.launch;
    if (!isObject(launch) || !hasOnly(launch, TASK_INFOS_KEYS)) return undefined;
    const infos = launch.task_infos;
    if (!Array.isArray(infos) || infos.length > MAX_OPERATIONS) return undefined;
    const task_infos: TaskInfo[] = [];
    for (const info of infos) {
      const task = taskInfo(info);
      if (task === undefined) return undefined;
      task_infos.push(task);
    }
    operations.push({ type: 'LAUNCH', launch: { task_infos } });
  }
  return operations;
}

function taskInfo(value: unknown): TaskInfo | undefined {
  if (!isObject(value) || !hasOnly(value, TASK_INFO_KEYS)) return undefined;
  if (!isText(value.name, MAX_NAME_LENGTH)) return undefined;
  const task_id = id<TaskID>(value.task_id);
  const agent_id = id<AgentID>(value.agent_id);
  if (task_id === undefined || agent_id === undefined) return undefined;
  const task: { -readonly [K in keyof TaskInfo]: TaskInfo[K] } = {
    name: value.name,
    task_id,
    agent_id,
  };
  if (value.resources !== undefined) {
    const resources = scalarResources(value.resources);
    if (resources === undefined) return undefined;
    task.resources = resources;
  }
  if (value.command !== undefined) {
    const command = commandInfo(value.command);
    if (command === undefined) return undefined;
    task.command = command;
  }
  if (value.labels !== undefined) {
    const labels = labelsOf(value.labels);
    if (labels === undefined) return undefined;
    task.labels = { labels };
  }
  return task;
}

/** Unreserved scalars only (cpus, mem, disk...): roles, reservations and ranges go to zod. */
function scalarResources(value: unknown): Resource[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_RESOURCES) return undefined;
  const resources: Resource[] = [];
  for (const item of value) {
    if (!isObject(item) || !hasOnly(item, RESOURCE_KEYS) || item.type !== 'SCALAR')
      return undefined;
    const name = item.name;
    if (!isText(name, MAX_RESOURCE_NAME_LENGTH) || name.length === 0) return undefined;
    const scalar = item.scalar;
    if (!isObject(scalar) || !hasOnly(scalar, ID_KEYS)) return undefined;
    const amount = scalar.value;
    if (!isFiniteNumber(amount) || amount < 0) return undefined;
    resources.push({ name, type: 'SCALAR', scalar: { value: amount } });
  }
  return resources;
}

function commandInfo(value: unknown): CommandInfo | undefined {
  if (!isObject(value) || !hasOnly(value, COMMAND_KEYS)) return undefined;
  const command: { -readonly [K in keyof CommandInfo]: CommandInfo[K] } = {};
  if (value.shell !== undefined) {
    if (typeof value.shell !== 'boolean') return undefined;
    command.shell = value.shell;
  }
  if (value.value !== undefined) {
    if (!isText(value.value, MAX_COMMAND_STRING_LENGTH)) return undefined;
    command.value = value.value;
  }
  if (value.arguments !== undefined) {
    const args = value.arguments;
    if (!Array.isArray(args) || args.length > MAX_COMMAND_ENTRIES) return undefined;
    for (const arg of args) if (!isText(arg, MAX_COMMAND_STRING_LENGTH)) return undefined;
    command.arguments = args.slice() as string[];
  }
  if (value.user !== undefined) {
    if (!isText(value.user, MAX_USER_LENGTH)) return undefined;
    command.user = value.user;
  }
  return command;
}

function labelsOf(value: unknown): Label[] | undefined {
  if (!isObject(value) || !hasOnly(value, LABELS_KEYS)) return undefined;
  const list = value.labels;
  if (!Array.isArray(list) || list.length > MAX_LABELS) return undefined;
  const labels: Label[] = [];
  for (const item of list) {
    if (!isObject(item) || !hasOnly(item, LABEL_KEYS) || !isText(item.key, MAX_KEY_LENGTH))
      return undefined;
    if (item.value === undefined) labels.push({ key: item.key });
    else if (isText(item.value, MAX_LABEL_VALUE_LENGTH))
      labels.push({ key: item.key, value: item.value });
    else return undefined;
  }
  return labels;
}

// ------------------------------------------------------------------ agent calls

const PONG_KEYS: ReadonlySet<string> = new Set(['type', 'agent_id']);
const UPDATE_CALL_KEYS: ReadonlySet<string> = new Set(['type', 'agent_id', 'update', 'pong']);
const UPDATES_CALL_KEYS: ReadonlySet<string> = new Set(['type', 'agent_id', 'updates', 'pong']);
const UPDATES_KEYS: ReadonlySet<string> = new Set(['updates']);
const STATUS_UPDATE_KEYS: ReadonlySet<string> = new Set(['framework_id', 'status']);
const TASK_STATUS_KEYS: ReadonlySet<string> = new Set([
  'task_id',
  'state',
  'message',
  'source',
  'reason',
  'data',
  'agent_id',
  'executor_id',
  'timestamp',
  'uuid',
  'healthy',
]);

/** An agent's PONG, UPDATE or UPDATES in its plain form, or `undefined`: then zod decides. */
export function fastAgentCall(input: unknown): AgentCall | undefined {
  if (!isObject(input)) return undefined;
  const agent_id = id<AgentID>(input.agent_id);
  if (agent_id === undefined) return undefined;
  switch (input.type) {
    case 'PONG':
      return hasOnly(input, PONG_KEYS) ? { type: 'PONG', agent_id } : undefined;
    case 'UPDATE': {
      if (!hasOnly(input, UPDATE_CALL_KEYS) || !isPongFlag(input.pong)) return undefined;
      const update = statusUpdate(input.update);
      if (update === undefined) return undefined;
      return input.pong === undefined
        ? { type: 'UPDATE', agent_id, update }
        : { type: 'UPDATE', agent_id, update, pong: input.pong };
    }
    case 'UPDATES': {
      const body = input.updates;
      if (!hasOnly(input, UPDATES_CALL_KEYS) || !isObject(body) || !hasOnly(body, UPDATES_KEYS))
        return undefined;
      if (!isPongFlag(input.pong)) return undefined;
      const list = body.updates;
      if (!Array.isArray(list) || list.length > MAX_AGENT_UPDATES) return undefined;
      const updates: AgentStatusUpdate[] = [];
      for (const item of list) {
        const update = statusUpdate(item);
        if (update === undefined) return undefined;
        updates.push(update);
      }
      return input.pong === undefined
        ? { type: 'UPDATES', agent_id, updates: { updates } }
        : { type: 'UPDATES', agent_id, updates: { updates }, pong: input.pong };
    }
    default:
      return undefined;
  }
}

function isPongFlag(value: unknown): value is boolean | undefined {
  return value === undefined || typeof value === 'boolean';
}

function statusUpdate(value: unknown): AgentStatusUpdate | undefined {
  if (!isObject(value) || !hasOnly(value, STATUS_UPDATE_KEYS)) return undefined;
  const framework_id = id<FrameworkID>(value.framework_id);
  const status = taskStatus(value.status);
  if (framework_id === undefined || status === undefined) return undefined;
  return { framework_id, status };
}

/** A TaskStatus without check or container status (those go to zod). */
function taskStatus(value: unknown): TaskStatus | undefined {
  if (!isObject(value) || !hasOnly(value, TASK_STATUS_KEYS)) return undefined;
  const task_id = id<TaskID>(value.task_id);
  const state = value.state;
  if (task_id === undefined || typeof state !== 'string' || !TASK_STATE_SET.has(state))
    return undefined;
  const status: { -readonly [K in keyof TaskStatus]: TaskStatus[K] } = {
    task_id,
    state: state as TaskStatus['state'],
  };
  if (value.message !== undefined) {
    if (!isText(value.message, MAX_MESSAGE_LENGTH)) return undefined;
    status.message = value.message;
  }
  if (value.source !== undefined) {
    if (typeof value.source !== 'string' || !STATUS_SOURCES.has(value.source)) return undefined;
    status.source = value.source as TaskStatus['source'];
  }
  if (value.reason !== undefined) {
    if (!isText(value.reason, MAX_ENUM_NAME_LENGTH)) return undefined;
    status.reason = value.reason as TaskStatus['reason'];
  }
  if (value.data !== undefined) {
    if (!isText(value.data, MAX_DATA_LENGTH)) return undefined;
    status.data = value.data;
  }
  if (value.agent_id !== undefined) {
    const agentId = id<AgentID>(value.agent_id);
    if (agentId === undefined) return undefined;
    status.agent_id = agentId;
  }
  if (value.executor_id !== undefined) {
    const executorId = id<ExecutorID>(value.executor_id);
    if (executorId === undefined) return undefined;
    status.executor_id = executorId;
  }
  if (value.timestamp !== undefined) {
    if (!isFiniteNumber(value.timestamp)) return undefined;
    status.timestamp = value.timestamp;
  }
  if (value.uuid !== undefined) {
    const uuid = statusUuid(value.uuid);
    if (uuid === undefined) return undefined;
    status.uuid = uuid;
  }
  if (value.healthy !== undefined) {
    if (typeof value.healthy !== 'boolean') return undefined;
    status.healthy = value.healthy;
  }
  return status;
}

// Hand-written checks for the calls a busy master gets thousands of times a second:
// ACKNOWLEDGE, ACCEPT of plain LAUNCHes and DECLINE from frameworks, UPDATE, UPDATES and PONG
// from agents. zod cost about a tenth of the master's CPU on them (bench/RESULTS.md, #8).
// And the agents' SUBSCRIBE (fast-subscribe.ts); the pieces are in fast-checks.ts.
//
// Each check takes only the plain form its clients send (every key one it knows, every
// value of its JSON type: no `null`, no number written as a string) and returns what the
// zod schema would: a fresh object holding only the known keys. Anything else, valid or
// not, returns `undefined`, and the caller runs the zod schema, so every 400 still comes
// from schemas.ts with the same field and reason. A check here must therefore never take
// what the schema refuses; test/wire/fast-calls.test.ts compares the two.
import type { AgentCall, AgentStatusUpdate } from './agent-protocol.js';
import {
  hasOnly,
  id,
  isFiniteNumber,
  isObject,
  isText,
  STATUS_SOURCES,
  statusUuid,
  TASK_STATE_SET,
  taskInfo,
} from './fast-checks.js';
import { fastAgentSubscribe } from './fast-subscribe.js';
import type { AgentID, ExecutorID, FrameworkID, OfferID, TaskID } from './ids.js';
import {
  MAX_AGENT_UPDATES,
  MAX_DATA_LENGTH,
  MAX_ENUM_NAME_LENGTH,
  MAX_MESSAGE_LENGTH,
  MAX_OFFER_IDS,
  MAX_OPERATIONS,
} from './limits.js';
import type { TaskInfo, TaskStatus } from './messages.js';
import type { Call, OfferOperation } from './scheduler.js';

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

/** An agent's SUBSCRIBE, PONG, UPDATE or UPDATES in its plain form, or `undefined`: then zod decides. */
export function fastAgentCall(input: unknown): AgentCall | undefined {
  if (!isObject(input)) return undefined;
  if (input.type === 'SUBSCRIBE') return fastAgentSubscribe(input);
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

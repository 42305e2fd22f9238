import type { CompactTaskInfo } from './agent-protocol.js';
import type { AgentID, TaskID } from './ids.js';
import {
  MAX_COMMAND_ENTRIES,
  MAX_COMMAND_STRING_LENGTH,
  MAX_ID_BYTES,
  MAX_KEY_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LABELS,
  MAX_NAME_LENGTH,
  MAX_RANGES,
  MAX_RESOURCE_NAME_LENGTH,
  MAX_RESOURCES,
  MAX_USER_LENGTH,
} from './limits.js';
import type { CommandInfo, Label, Resource, TaskInfo } from './messages.js';
import { roleError } from './roles.js';
import { isValidStatusUuid } from './status-uuid.js';
import { TASK_STATES } from './task-state.js';
import { utf8Length } from './text.js';

export type Json = Readonly<Record<string, unknown>>;

/** A status uuid is 16 bytes: 24 base64 characters at most, padding included. */
const MAX_STATUS_UUID_LENGTH = 24;
export const TASK_STATE_SET: ReadonlySet<string> = new Set(TASK_STATES);
export const STATUS_SOURCES: ReadonlySet<string> = new Set([
  'SOURCE_MASTER',
  'SOURCE_AGENT',
  'SOURCE_EXECUTOR',
]);

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when every key of `value` is one of `known` (so no key is left unchecked). */
export function hasOnly(value: Json, known: ReadonlySet<string>): boolean {
  for (const key in value) if (!known.has(key)) return false;
  return true;
}

export function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max;
}

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export const ID_KEYS: ReadonlySet<string> = new Set(['value']);

/** An id (`{value}`), as schemas.ts's idValue checks it. */
export function id<T extends { readonly value: string }>(value: unknown): T | undefined {
  if (!isObject(value) || !hasOnly(value, ID_KEYS)) return undefined;
  const text = value.value;
  if (typeof text !== 'string' || text.length === 0) return undefined;
  if (utf8Length(text, MAX_ID_BYTES) > MAX_ID_BYTES) return undefined;
  return { value: text } as unknown as T;
}

export function statusUuid(value: unknown): string | undefined {
  return isText(value, MAX_STATUS_UUID_LENGTH) && isValidStatusUuid(value) ? value : undefined;
}

// ------------------------------------------------------------------ messages

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
 * A plain TaskInfo. `isAllocated`: as the master sent it to an agent (RUN_TASK), its
 * resources carrying allocation_info, as an agent reports it back when it re-registers.
 * `readResources`, when given, checks the resources instead (it must take exactly what
 * plainResources or scalarResources would, as `isAllocated` says).
 */
export function taskInfo(
  value: unknown,
  isAllocated = false,
  readResources?: (value: unknown) => Resource[] | undefined,
): TaskInfo | undefined {
  if (!isObject(value) || !hasOnly(value, TASK_INFO_KEYS)) return undefined;
  if (!isText(value.name, MAX_NAME_LENGTH)) return undefined;
  const task_id = id<TaskID>(value.task_id);
  const agent_id = id<AgentID>(value.agent_id);
  if (task_id === undefined || agent_id === undefined) return undefined;
  // Built in place (the same object as before, keys in the same order): every reported task
  // of a failover's re-registrations passes here.
  const task = { name: value.name, task_id, agent_id };
  return taskInfoRest(value, task, isAllocated, readResources) as TaskInfo | undefined;
}

/**
 * A plain TaskInfo as the compact report gives it (agent-protocol.ts, CompactTaskInfo): no
 * agent_id and no resources (both implied by the report), the rest as taskInfo checks it.
 */
export function compactTaskInfo(value: unknown): CompactTaskInfo | undefined {
  if (!isObject(value) || !hasOnly(value, TASK_INFO_KEYS)) return undefined;
  if (value.agent_id !== undefined || value.resources !== undefined) return undefined;
  if (!isText(value.name, MAX_NAME_LENGTH)) return undefined;
  const task_id = id<TaskID>(value.task_id);
  if (task_id === undefined) return undefined;
  return taskInfoRest(value, { name: value.name, task_id }, false);
}

/** What taskInfo checks past the task's name and ids, added to `task`. */
function taskInfoRest(
  value: Json,
  task: { -readonly [K in keyof TaskInfo]?: TaskInfo[K] } & CompactTaskInfo,
  isAllocated: boolean,
  readResources?: (value: unknown) => Resource[] | undefined,
): (CompactTaskInfo & { readonly resources?: readonly Resource[] }) | undefined {
  if (value.resources !== undefined) {
    const resources =
      readResources !== undefined
        ? readResources(value.resources)
        : isAllocated
          ? plainResources(value.resources, true)
          : scalarResources(value.resources);
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
export function scalarResources(value: unknown): Resource[] | undefined {
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

const PLAIN_RESOURCE_KEYS: ReadonlySet<string> = new Set([
  'name',
  'type',
  'scalar',
  'ranges',
  'allocation_info',
]);
const RANGES_KEYS: ReadonlySet<string> = new Set(['range']);
const RANGE_KEYS: ReadonlySet<string> = new Set(['begin', 'end']);
const ALLOCATION_INFO_KEYS: ReadonlySet<string> = new Set(['role']);

/**
 * Unreserved scalars and ranges, as an agent reports its resources (ports as ranges) and,
 * with `isAllocated`, each with the allocation_info the master gave it: reservations, sets,
 * disks and the rest go to zod.
 */
export function plainResources(value: unknown, isAllocated: boolean): Resource[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_RESOURCES) return undefined;
  const resources: Resource[] = [];
  for (const item of value) {
    if (!isObject(item) || !hasOnly(item, PLAIN_RESOURCE_KEYS)) return undefined;
    const name = item.name;
    if (!isText(name, MAX_RESOURCE_NAME_LENGTH) || name.length === 0) return undefined;
    let resource: { -readonly [K in keyof Resource]: Resource[K] };
    if (item.type === 'SCALAR' && item.ranges === undefined) {
      const scalar = item.scalar;
      if (!isObject(scalar) || !hasOnly(scalar, ID_KEYS)) return undefined;
      const amount = scalar.value;
      if (!isFiniteNumber(amount) || amount < 0) return undefined;
      resource = { name, type: 'SCALAR', scalar: { value: amount } };
    } else if (item.type === 'RANGES' && item.scalar === undefined) {
      const ranges = rangesOf(item.ranges);
      if (ranges === undefined) return undefined;
      resource = { name, type: 'RANGES', ranges: { range: ranges } };
    } else return undefined;
    if (isAllocated !== (item.allocation_info !== undefined)) return undefined;
    if (item.allocation_info !== undefined) {
      const info = item.allocation_info;
      if (!isObject(info) || !hasOnly(info, ALLOCATION_INFO_KEYS)) return undefined;
      if (typeof info.role !== 'string' || roleError(info.role) !== undefined) return undefined;
      resource.allocation_info = { role: info.role };
    }
    resources.push(resource);
  }
  return resources;
}

function rangesOf(value: unknown): { begin: number; end: number }[] | undefined {
  if (!isObject(value) || !hasOnly(value, RANGES_KEYS)) return undefined;
  const list = value.range;
  if (!Array.isArray(list) || list.length > MAX_RANGES) return undefined;
  const ranges: { begin: number; end: number }[] = [];
  for (const item of list) {
    if (!isObject(item) || !hasOnly(item, RANGE_KEYS)) return undefined;
    const { begin, end } = item;
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end)) return undefined;
    if ((begin as number) < 0 || (begin as number) > (end as number)) return undefined;
    ranges.push({ begin: begin as number, end: end as number });
  }
  return ranges;
}

export function commandInfo(value: unknown): CommandInfo | undefined {
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

export function labelsOf(value: unknown): Label[] | undefined {
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

// Validation of everything Agora accepts over HTTP. Mesos' JSON rules (WIRE §1.2):
// unknown keys are ignored, `null` means "not set", numbers and booleans may come
// as strings. Each schema is checked against its hand-written type (z.ZodType<T>)
// so the two cannot drift apart. Every string and list is bounded (limits.ts says
// why each bound is what it is), and every role goes through `roleError`.
// Long file: one schema per wire message, together so the JSON rules apply uniformly.
import { z } from 'zod';
import {
  AGENT_OPERATOR_CALL_TYPES,
  type AgentOperatorCall,
  type NestedContainerID,
  type ProcessIO,
} from './agent-operator.js';
import type { AgentCall } from './agent-protocol.js';
import {
  durationNanosecondsProblem,
  durationSecondsProblem,
  MAX_DURATION_NANOSECONDS,
} from './duration.js';
import { BadRequestError } from './errors.js';
import { EXECUTOR_CALL_TYPES, type ExecutorCall } from './executor.js';
import { fastAgentCall, fastCall } from './fast-calls.js';
import type { AgentID, ContainerID, ExecutorID, FrameworkID, OfferID, TaskID } from './ids.js';
import {
  MAX_AGENT_UPDATES,
  MAX_ATTRIBUTES,
  MAX_CAPABILITIES,
  MAX_CHECK_STATUSES,
  MAX_COMMAND_ENTRIES,
  MAX_COMMAND_STRING_LENGTH,
  MAX_CONSECUTIVE_FAILURES,
  MAX_CONSTRAINT_GROUPS,
  MAX_CONSTRAINTS_PER_GROUP,
  MAX_CONTAINER_JSON_LENGTH,
  MAX_DATA_LENGTH,
  MAX_ENUM_NAME_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_HOSTNAME_LENGTH,
  MAX_ID_BYTES,
  MAX_KEY_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LABELS,
  MAX_MACHINES,
  MAX_MESSAGE_LENGTH,
  MAX_NAME_LENGTH,
  MAX_OFFER_IDS,
  MAX_OPERATIONS,
  MAX_PATH_LENGTH,
  MAX_PORT,
  MAX_PRINCIPAL_LENGTH,
  MAX_QUOTA_RESOURCE_NAMES,
  MAX_QUOTED_LENGTH,
  MAX_RANGES,
  MAX_REGEX_LENGTH,
  MAX_REPORTED_FRAMEWORKS,
  MAX_REPORTED_RESOURCE_LISTS,
  MAX_RESERVATIONS,
  MAX_RESOURCE_NAME_LENGTH,
  MAX_RESOURCES,
  MAX_ROLE_BYTES,
  MAX_ROLE_ENTRIES,
  MAX_ROLES,
  MAX_SET_ITEMS,
  MAX_TASKS,
  MAX_URIS,
  MAX_URL_LENGTH,
  MAX_USER_LENGTH,
} from './limits.js';
import type {
  AgentInfo,
  Attribute,
  CheckInfo,
  CheckStatusInfo,
  CommandInfo,
  DomainInfo,
  ExecutorInfo,
  Filters,
  FrameworkInfo,
  HealthCheck,
  KillPolicy,
  Labels,
  MachineID,
  ReservationInfo,
  Resource,
  TaskInfo,
  TaskLimit,
  TaskStatus,
} from './messages.js';
import { FRAMEWORK_CAPABILITY_TYPES } from './messages.js';
import {
  MASTER_CALL_TYPES,
  type MaintenanceSchedule,
  type MasterCall,
  type QuotaConfigMessage,
  type QuotaRequest,
  type WeightInfo,
} from './operator.js';
import { roleError } from './roles.js';
import type {
  AttributeConstraint,
  Call,
  OfferConstraints,
  OfferOperation,
  Subscribe,
} from './scheduler.js';
import { isValidStatusUuid } from './status-uuid.js';
import { TASK_STATES } from './task-state.js';
import { clip, describeInput, utf8Length } from './text.js';

/** `null` means unset, as in stout's JSON decoding. */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null ? undefined : v), schema.optional());
}

// No number is written in more characters than this; the length check also keeps the
// pattern's cost linear in what it reads.
const MAX_NUMBER_STRING_LENGTH = 64;
// One way to match each string, so a long run of digits cannot make the pattern backtrack
// (the pattern before this one took seconds for 40,000 digits followed by a letter).
const NUMBER_STRING = /^\s*[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|Infinity)\s*$/;
const number = z.preprocess(
  (v) =>
    typeof v === 'string' && v.length <= MAX_NUMBER_STRING_LENGTH && NUMBER_STRING.test(v)
      ? Number(v)
      : v,
  z.number(),
);
const boolean = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
/** A zod refinement from one of duration.ts's problem functions. */
function durationIn(problem: (value: number) => string | undefined) {
  return (value: number, ctx: z.core.$RefinementCtx<number>) => {
    const message = problem(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  };
}

/** A string of at most `max` characters. */
function text(max: number, options?: { readonly required?: boolean }) {
  const base = options?.required === true ? z.string({ error: 'required (a string)' }) : z.string();
  return base.max(max, { error: `at most ${max} characters` });
}

/** A non-empty string of at most `max` characters. */
function nonEmptyText(max: number) {
  return text(max).min(1, { error: 'must not be empty' });
}

/** A list of at most `max` entries; the length is checked before any entry is parsed. */
function list<T extends z.ZodType>(item: T, max: number) {
  return z.array(item).max(max, { error: `at most ${max} entries` });
}

/** A JSON object used as a map (`map<string, M>` in the protos), of at most `max` entries. */
function map<V extends z.ZodType>(key: z.ZodType<string>, value: V, max: number) {
  return z
    .record(z.string(), z.unknown())
    .refine((entries) => Object.keys(entries).length <= max, {
      error: `at most ${max} entries`,
    })
    .pipe(z.record(key, value));
}

/** A role, checked by the one role check (roles.ts); the message says what is wrong. */
function role(options?: { readonly required?: boolean }) {
  const base = options?.required === true ? z.string({ error: 'required (a string)' }) : z.string();
  return base.superRefine((value, ctx) => {
    const reason = roleError(value);
    if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
  });
}

/**
 * A role in FrameworkInfo or a subscription's suppressed roles: only its size is checked
 * here (400). What is in it is checked by `frameworkInfoError` with the same `roleError`,
 * and refused with an ERROR event on the subscription, as Mesos does (WIRE §1.8).
 */
const frameworkRole = text(MAX_ROLE_BYTES);

/** An id's value (Mesos' validateID: non-empty, at most NAME_MAX bytes; limits.ts). */
const idValue = z
  .string()
  .min(1, { error: 'must not be empty' })
  .refine((v) => utf8Length(v, MAX_ID_BYTES) <= MAX_ID_BYTES, {
    error: `at most ${MAX_ID_BYTES} bytes`,
  });

function id<T extends { readonly value: string }>(): z.ZodType<T> {
  return z
    .object({ value: idValue })
    .transform((v) => v as unknown as T) as unknown as z.ZodType<T>;
}
const FrameworkIDSchema = id<FrameworkID>();
const AgentIDSchema = id<AgentID>();
const OfferIDSchema = id<OfferID>();
const TaskIDSchema = id<TaskID>();
const ExecutorIDSchema = id<ExecutorID>();
const ContainerIDSchema = id<ContainerID>();

const LabelsSchema: z.ZodType<Labels> = z.object({
  labels: list(
    z.object({
      key: text(MAX_KEY_LENGTH),
      value: optional(text(MAX_LABEL_VALUE_LENGTH)),
    }),
    MAX_LABELS,
  ),
});

const ReservationInfoSchema: z.ZodType<ReservationInfo> = z.object({
  type: optional(z.enum(['UNKNOWN', 'STATIC', 'DYNAMIC'])),
  role: optional(role()),
  principal: optional(text(MAX_PRINCIPAL_LENGTH)),
  labels: optional(LabelsSchema),
});

const RangeSchema = z
  .object({ begin: number, end: number })
  .refine((r) => Number.isSafeInteger(r.begin) && Number.isSafeInteger(r.end) && r.begin >= 0, {
    error: 'range bounds must be non-negative integers',
  })
  .refine((r) => r.begin <= r.end, { error: 'range begin must not exceed end' });

export const ResourceSchema: z.ZodType<Resource> = z
  .object({
    name: nonEmptyText(MAX_RESOURCE_NAME_LENGTH),
    type: z.enum(['SCALAR', 'RANGES', 'SET'], { error: 'expected SCALAR, RANGES or SET' }),
    scalar: optional(z.object({ value: number })),
    ranges: optional(z.object({ range: list(RangeSchema, MAX_RANGES) })),
    set: optional(z.object({ item: list(text(MAX_KEY_LENGTH), MAX_SET_ITEMS) })),
    role: optional(role()),
    reservation: optional(ReservationInfoSchema),
    reservations: optional(list(ReservationInfoSchema, MAX_RESERVATIONS)),
    allocation_info: optional(z.object({ role: role({ required: true }) })),
    disk: optional(
      z.object({
        persistence: optional(
          z.object({ id: idValue, principal: optional(text(MAX_PRINCIPAL_LENGTH)) }),
        ),
        volume: optional(
          z.object({ container_path: nonEmptyText(MAX_PATH_LENGTH), mode: z.enum(['RW', 'RO']) }),
        ),
        source: optional(z.object({ type: text(MAX_ENUM_NAME_LENGTH) })),
      }),
    ),
    revocable: optional(z.object({}).strip()),
    shared: optional(z.object({}).strip()),
  })
  .superRefine((r, ctx) => {
    if (r.type === 'SCALAR') {
      if (r.scalar === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['scalar'],
          message: 'required for a SCALAR resource',
        });
      else if (!Number.isFinite(r.scalar.value) || r.scalar.value < 0)
        ctx.addIssue({
          code: 'custom',
          path: ['scalar', 'value'],
          message: 'must be a finite, non-negative number',
        });
    }
    if (r.type === 'RANGES' && r.ranges === undefined)
      ctx.addIssue({ code: 'custom', path: ['ranges'], message: 'required for a RANGES resource' });
    if (r.type === 'SET' && r.set === undefined)
      ctx.addIssue({ code: 'custom', path: ['set'], message: 'required for a SET resource' });
  });

export const AttributeSchema: z.ZodType<Attribute> = z.object({
  name: nonEmptyText(MAX_KEY_LENGTH),
  type: z.enum(['SCALAR', 'RANGES', 'SET', 'TEXT']),
  scalar: optional(z.object({ value: number })),
  ranges: optional(z.object({ range: list(RangeSchema, MAX_RANGES) })),
  set: optional(z.object({ item: list(text(MAX_KEY_LENGTH), MAX_SET_ITEMS) })),
  text: optional(z.object({ value: text(MAX_KEY_LENGTH) })),
});

const CapabilitySchema = z.object({ type: z.enum(FRAMEWORK_CAPABILITY_TYPES) });

export const FrameworkInfoSchema: z.ZodType<FrameworkInfo> = z.object({
  user: text(MAX_USER_LENGTH, { required: true }),
  name: text(MAX_NAME_LENGTH, { required: true }),
  id: optional(FrameworkIDSchema),
  failover_timeout: optional(number.superRefine(durationIn(durationSecondsProblem))),
  checkpoint: optional(boolean),
  role: optional(frameworkRole),
  roles: optional(list(frameworkRole, MAX_ROLES)),
  hostname: optional(text(MAX_HOSTNAME_LENGTH)),
  principal: optional(text(MAX_PRINCIPAL_LENGTH)),
  webui_url: optional(text(MAX_URL_LENGTH)),
  // Mesos drops unknown enum values of repeated fields rather than failing.
  capabilities: optional(
    list(z.unknown(), MAX_CAPABILITIES).transform((list) =>
      list.flatMap((c) => {
        const parsed = CapabilitySchema.safeParse(c);
        return parsed.success ? [parsed.data] : [];
      }),
    ),
  ),
  labels: optional(LabelsSchema),
  offer_filters: optional(
    map(
      z.string(),
      z.object({
        min_allocatable_resources: optional(
          z.object({
            quantities: optional(
              list(
                z.object({
                  quantities: optional(
                    map(
                      nonEmptyText(MAX_RESOURCE_NAME_LENGTH),
                      z.object({ value: number }),
                      MAX_QUOTA_RESOURCE_NAMES,
                    ),
                  ),
                }),
                MAX_CONSTRAINT_GROUPS,
              ),
            ),
          }),
        ),
      }),
      MAX_ROLES,
    ),
  ),
});

const FiltersSchema: z.ZodType<Filters> = z.object({ refuse_seconds: optional(number) });

// Both are int64 nanoseconds on the wire: kept whole, so they are written back as protobuf's
// JSON parsers read an int64 (no fraction, no exponent) in /master/state and every event.
const DurationInfoSchema = z.object({
  nanoseconds: number.superRefine(durationIn(durationNanosecondsProblem)).transform(Math.round),
});
const KillPolicySchema: z.ZodType<KillPolicy> = z.object({
  grace_period: optional(DurationInfoSchema),
});

const CommandInfoSchema: z.ZodType<CommandInfo> = z.object({
  uris: optional(
    list(
      z.object({
        value: nonEmptyText(MAX_URL_LENGTH),
        executable: optional(boolean),
        extract: optional(boolean),
        cache: optional(boolean),
        output_file: optional(text(MAX_PATH_LENGTH)),
      }),
      MAX_URIS,
    ),
  ),
  environment: optional(
    z.object({
      variables: list(
        z.object({
          name: nonEmptyText(MAX_KEY_LENGTH),
          type: optional(z.enum(['UNKNOWN', 'VALUE', 'SECRET'])),
          value: optional(text(MAX_COMMAND_STRING_LENGTH)),
        }),
        MAX_COMMAND_ENTRIES,
      ),
    }),
  ),
  shell: optional(boolean),
  value: optional(text(MAX_COMMAND_STRING_LENGTH)),
  arguments: optional(list(text(MAX_COMMAND_STRING_LENGTH), MAX_COMMAND_ENTRIES)),
  user: optional(text(MAX_USER_LENGTH)),
});

const CHECK_TYPES = ['UNKNOWN', 'COMMAND', 'HTTP', 'TCP'] as const;
const NetworkProtocolSchema = z.enum(['IPv4', 'IPv6']);
/** A check's delay, interval or timeout: seconds Mesos can hold as a Duration. */
const checkSeconds = number.superRefine(durationIn(durationSecondsProblem));
/** A whole number from `min` to `max` (a port, a count of failures). */
function wholeNumber(min: number, max: number) {
  return number.superRefine((value, ctx) => {
    if (!Number.isInteger(value))
      ctx.addIssue({ code: 'custom', message: 'must be a whole number' });
    else if (value < min) ctx.addIssue({ code: 'custom', message: `must be at least ${min}` });
    else if (value > max) ctx.addIssue({ code: 'custom', message: `must be at most ${max}` });
  });
}
const port = wholeNumber(0, MAX_PORT);

// Which body a type needs, and a path's leading '/', are checked with the task (wire/checks.ts),
// so an invalid check fails its task with TASK_ERROR, as in Mesos, not the whole call.
const HealthCheckSchema: z.ZodType<HealthCheck> = z.object({
  type: optional(z.enum(CHECK_TYPES)),
  command: optional(CommandInfoSchema),
  http: optional(
    z.object({
      protocol: optional(NetworkProtocolSchema),
      scheme: optional(text(MAX_ENUM_NAME_LENGTH)),
      port,
      path: optional(text(MAX_URL_LENGTH)),
      statuses: optional(list(number, MAX_CHECK_STATUSES)),
    }),
  ),
  tcp: optional(z.object({ protocol: optional(NetworkProtocolSchema), port })),
  delay_seconds: optional(checkSeconds),
  interval_seconds: optional(checkSeconds),
  timeout_seconds: optional(checkSeconds),
  consecutive_failures: optional(wholeNumber(0, MAX_CONSECUTIVE_FAILURES)),
  grace_period_seconds: optional(checkSeconds),
});

const CheckInfoSchema: z.ZodType<CheckInfo> = z.object({
  type: optional(z.enum(CHECK_TYPES)),
  command: optional(z.object({ command: CommandInfoSchema })),
  http: optional(z.object({ port, path: optional(text(MAX_URL_LENGTH)) })),
  tcp: optional(z.object({ port })),
  delay_seconds: optional(checkSeconds),
  interval_seconds: optional(checkSeconds),
  timeout_seconds: optional(checkSeconds),
});

const CheckStatusInfoSchema: z.ZodType<CheckStatusInfo> = z.object({
  type: optional(z.enum(CHECK_TYPES)),
  command: optional(z.object({ exit_code: optional(number) })),
  http: optional(z.object({ status_code: optional(number) })),
  tcp: optional(z.object({ succeeded: optional(boolean) })),
});

const ExecutorInfoSchema: z.ZodType<ExecutorInfo> = z.object({
  type: optional(z.enum(['UNKNOWN', 'DEFAULT', 'CUSTOM'])),
  executor_id: ExecutorIDSchema,
  framework_id: optional(FrameworkIDSchema),
  command: optional(CommandInfoSchema),
  resources: optional(list(ResourceSchema, MAX_RESOURCES)),
  name: optional(text(MAX_NAME_LENGTH)),
  container: optional(
    z
      .record(z.string(), z.unknown())
      .refine((container) => JSON.stringify(container).length <= MAX_CONTAINER_JSON_LENGTH, {
        error: `at most ${MAX_CONTAINER_JSON_LENGTH} characters as JSON`,
      }),
  ),
  shutdown_grace_period: optional(DurationInfoSchema),
  labels: optional(LabelsSchema),
});

/**
 * One of a task's limits: a non-negative number, or "Infinity" (JSON has no infinity), bare
 * as Mesos' documents and renders it, or wrapped as the Value.Scalar it is in protobuf.
 */
const TaskLimitValueSchema = z.union([
  z.literal('Infinity'),
  number.refine((v) => Number.isFinite(v) && v >= 0, {
    error: 'must be a finite, non-negative number or "Infinity"',
  }),
]);
const TaskLimitSchema: z.ZodType<TaskLimit> = z.union([
  TaskLimitValueSchema,
  z.object({ value: TaskLimitValueSchema }).transform(({ value }) => value),
]);

const TaskInfoObject = z.object({
  name: text(MAX_NAME_LENGTH, { required: true }),
  task_id: TaskIDSchema,
  agent_id: AgentIDSchema,
  resources: optional(list(ResourceSchema, MAX_RESOURCES)),
  executor: optional(ExecutorInfoSchema),
  command: optional(CommandInfoSchema),
  // Kept as given and shown in state; its nesting is bounded by the body's (MAX_JSON_DEPTH).
  container: optional(
    z
      .record(z.string(), z.unknown())
      .refine((container) => JSON.stringify(container).length <= MAX_CONTAINER_JSON_LENGTH, {
        error: `at most ${MAX_CONTAINER_JSON_LENGTH} characters as JSON`,
      }),
  ),
  limits: optional(
    map(nonEmptyText(MAX_RESOURCE_NAME_LENGTH), TaskLimitSchema, MAX_QUOTA_RESOURCE_NAMES),
  ),
  kill_policy: optional(KillPolicySchema),
  health_check: optional(HealthCheckSchema),
  check: optional(CheckInfoSchema),
  data: optional(text(MAX_DATA_LENGTH)),
  labels: optional(LabelsSchema),
});
export const TaskInfoSchema: z.ZodType<TaskInfo> = TaskInfoObject;
/**
 * A task's TaskInfo as an agent's report gives it: in the compact report without agent_id
 * (the subscribing agent's), so it is optional here and AgentSubscribeSchema requires it of
 * the other shapes.
 */
const ReportedTaskInfoSchema = TaskInfoObject.extend({ agent_id: optional(AgentIDSchema) });

const OPERATION_TYPES = [
  'LAUNCH',
  'LAUNCH_GROUP',
  'RESERVE',
  'UNRESERVE',
  'CREATE',
  'DESTROY',
  'GROW_VOLUME',
  'SHRINK_VOLUME',
  'CREATE_DISK',
  'DESTROY_DISK',
] as const;

const VolumesSchema = z.object({ volumes: list(ResourceSchema, MAX_RESOURCES) });

const OfferOperationEnvelopeSchema = z.object({
  type: z.enum(OPERATION_TYPES, {
    error: (issue) => `unknown operation type ${describeInput(issue.input)}`,
  }),
  id: optional(z.object({ value: idValue })),
  launch: optional(z.object({ task_infos: list(TaskInfoSchema, MAX_OPERATIONS) })),
  launch_group: optional(
    z.object({
      executor: ExecutorInfoSchema,
      task_group: z.object({ tasks: list(TaskInfoSchema, MAX_OPERATIONS) }),
    }),
  ),
  reserve: optional(
    z.object({
      resources: list(ResourceSchema, MAX_RESOURCES),
      source: optional(list(ResourceSchema, MAX_RESOURCES)),
    }),
  ),
  unreserve: optional(z.object({ resources: list(ResourceSchema, MAX_RESOURCES) })),
  create: optional(VolumesSchema),
  destroy: optional(VolumesSchema),
  grow_volume: optional(z.object({ volume: ResourceSchema, addition: ResourceSchema })),
  shrink_volume: optional(
    z.object({
      volume: ResourceSchema,
      subtract: z.object({
        value: number.refine((v) => Number.isFinite(v) && v > 0, {
          error: 'must be a positive number',
        }),
      }),
    }),
  ),
});

/** The body each operation type must carry. */
const OPERATION_BODY: Partial<Record<(typeof OPERATION_TYPES)[number], string>> = {
  LAUNCH: 'launch',
  LAUNCH_GROUP: 'launch_group',
  RESERVE: 'reserve',
  UNRESERVE: 'unreserve',
  CREATE: 'create',
  DESTROY: 'destroy',
  GROW_VOLUME: 'grow_volume',
  SHRINK_VOLUME: 'shrink_volume',
};

const OfferOperationSchema: z.ZodType<OfferOperation> = OfferOperationEnvelopeSchema.superRefine(
  (operation, ctx) => {
    const body = OPERATION_BODY[operation.type];
    if (body !== undefined && (operation as Record<string, unknown>)[body] === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [body],
        message: `required for a ${operation.type} operation`,
      });
  },
  // The refinement checked that the body `type` names is there: the union holds.
).transform((operation) => operation as unknown as OfferOperation);

const PseudoattributeSchema = z.enum(['HOSTNAME', 'REGION', 'ZONE']);

const AttributeConstraintSchema: z.ZodType<AttributeConstraint> = z.object({
  selector: z.union([
    z.object({ pseudoattribute_type: PseudoattributeSchema }),
    z.object({ attribute_name: nonEmptyText(MAX_RESOURCE_NAME_LENGTH) }),
  ]),
  predicate: z.union([
    z.object({ exists: z.object({}).strip() }),
    z.object({ not_exists: z.object({}).strip() }),
    z.object({
      text_equals: z.object({ value: text(MAX_LABEL_VALUE_LENGTH, { required: true }) }),
    }),
    z.object({
      text_not_equals: z.object({ value: text(MAX_LABEL_VALUE_LENGTH, { required: true }) }),
    }),
    z.object({ text_matches: z.object({ regex: text(MAX_REGEX_LENGTH, { required: true }) }) }),
    z.object({
      text_not_matches: z.object({ regex: text(MAX_REGEX_LENGTH, { required: true }) }),
    }),
  ]),
}) as z.ZodType<AttributeConstraint>;

const OfferConstraintsSchema: z.ZodType<OfferConstraints> = z.object({
  role_constraints: optional(
    map(
      z.string(),
      z.object({
        groups: optional(
          list(
            z.object({
              attribute_constraints: optional(
                list(AttributeConstraintSchema, MAX_CONSTRAINTS_PER_GROUP),
              ),
            }),
            MAX_CONSTRAINT_GROUPS,
          ),
        ),
      }),
      MAX_ROLES,
    ),
  ),
});

const SubscribeSchema: z.ZodType<Subscribe> = z.object({
  framework_info: FrameworkInfoSchema,
  suppressed_roles: optional(list(frameworkRole, MAX_ROLES)),
  offer_constraints: optional(OfferConstraintsSchema),
});

/**
 * REVIVE's and SUPPRESS's roles: only sizes are checked here (400). A role that is not
 * valid, or not the framework's, is answered 202 and the call dropped, as Mesos does
 * (its validation passes both calls; Master::revive drops them).
 */
const RolesSchema = z.object({ roles: optional(list(frameworkRole, MAX_ROLES)) });

const CALL_TYPES = [
  'SUBSCRIBE',
  'TEARDOWN',
  'ACCEPT',
  'DECLINE',
  'ACCEPT_INVERSE_OFFERS',
  'DECLINE_INVERSE_OFFERS',
  'REVIVE',
  'KILL',
  'SHUTDOWN',
  'ACKNOWLEDGE',
  'ACKNOWLEDGE_OPERATION_STATUS',
  'RECONCILE',
  'RECONCILE_OPERATIONS',
  'MESSAGE',
  'REQUEST',
  'SUPPRESS',
  'UPDATE_FRAMEWORK',
] as const;

const StatusUuidSchema = z
  .string()
  .refine(isValidStatusUuid, { error: 'Not a valid UUID (expected 16 RFC-4122 bytes, base64)' });

const InverseOffersReplySchema = z.object({
  inverse_offer_ids: list(OfferIDSchema, MAX_OFFER_IDS),
  filters: optional(FiltersSchema),
});

const CallEnvelopeSchema = z.object({
  framework_id: optional(FrameworkIDSchema),
  type: z.enum(CALL_TYPES, {
    error: (issue) =>
      issue.input === undefined ? 'required' : `unknown call type ${describeInput(issue.input)}`,
  }),
  subscribe: optional(SubscribeSchema),
  accept: optional(
    z.object({
      offer_ids: list(OfferIDSchema, MAX_OFFER_IDS),
      operations: optional(list(OfferOperationSchema, MAX_OPERATIONS)),
      filters: optional(FiltersSchema),
    }),
  ),
  decline: optional(
    z.object({ offer_ids: list(OfferIDSchema, MAX_OFFER_IDS), filters: optional(FiltersSchema) }),
  ),
  kill: optional(
    z.object({
      task_id: TaskIDSchema,
      agent_id: optional(AgentIDSchema),
      kill_policy: optional(KillPolicySchema),
    }),
  ),
  acknowledge: optional(
    z.object({ agent_id: AgentIDSchema, task_id: TaskIDSchema, uuid: StatusUuidSchema }),
  ),
  reconcile: optional(
    z.object({
      tasks: optional(
        list(z.object({ task_id: TaskIDSchema, agent_id: optional(AgentIDSchema) }), MAX_TASKS),
      ),
    }),
  ),
  accept_inverse_offers: optional(InverseOffersReplySchema),
  decline_inverse_offers: optional(InverseOffersReplySchema),
  revive: optional(RolesSchema),
  suppress: optional(RolesSchema),
  update_framework: optional(SubscribeSchema),
  acknowledge_operation_status: optional(
    z.object({
      agent_id: optional(AgentIDSchema),
      uuid: StatusUuidSchema,
      operation_id: z.object({ value: idValue }),
    }),
  ),
  reconcile_operations: optional(
    z.object({
      operations: optional(
        list(
          z.object({
            operation_id: z.object({ value: idValue }),
            agent_id: optional(AgentIDSchema),
          }),
          MAX_TASKS,
        ),
      ),
    }),
  ),
  request: optional(
    z.object({
      requests: optional(
        list(
          z.object({
            agent_id: optional(AgentIDSchema),
            resources: optional(list(ResourceSchema, MAX_RESOURCES)),
          }),
          MAX_TASKS,
        ),
      ),
    }),
  ),
  shutdown: optional(z.object({ executor_id: ExecutorIDSchema, agent_id: AgentIDSchema })),
  message: optional(
    z.object({
      agent_id: AgentIDSchema,
      executor_id: ExecutorIDSchema,
      data: text(MAX_DATA_LENGTH, { required: true }),
    }),
  ),
});

// The body each call type must carry (WIRE §2.1, "body present").
const REQUIRED_BODY: Partial<Record<(typeof CALL_TYPES)[number], string>> = {
  SUBSCRIBE: 'subscribe',
  ACCEPT: 'accept',
  DECLINE: 'decline',
  ACCEPT_INVERSE_OFFERS: 'accept_inverse_offers',
  DECLINE_INVERSE_OFFERS: 'decline_inverse_offers',
  KILL: 'kill',
  SHUTDOWN: 'shutdown',
  ACKNOWLEDGE: 'acknowledge',
  ACKNOWLEDGE_OPERATION_STATUS: 'acknowledge_operation_status',
  RECONCILE: 'reconcile',
  RECONCILE_OPERATIONS: 'reconcile_operations',
  MESSAGE: 'message',
  REQUEST: 'request',
  UPDATE_FRAMEWORK: 'update_framework',
};

export const CallSchema: z.ZodType<Call> = CallEnvelopeSchema.superRefine((call, ctx) => {
  const body = REQUIRED_BODY[call.type];
  if (body !== undefined && (call as Record<string, unknown>)[body] === undefined)
    ctx.addIssue({ code: 'custom', path: [body], message: `required for a ${call.type} call` });
  if (call.type !== 'SUBSCRIBE' && call.framework_id === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['framework_id'],
      message: `required for a ${call.type} call`,
    });
  // The refinement checked what the union needs: each type's body, and framework_id.
}).transform((call) => call as unknown as Call);

const TaskStateSchema = z.enum(TASK_STATES);

const TaskStatusSchema: z.ZodType<TaskStatus> = z.object({
  task_id: TaskIDSchema,
  state: TaskStateSchema,
  message: optional(text(MAX_MESSAGE_LENGTH)),
  source: optional(z.enum(['SOURCE_MASTER', 'SOURCE_AGENT', 'SOURCE_EXECUTOR'])),
  reason: optional(text(MAX_ENUM_NAME_LENGTH)).transform((r) => r as TaskStatus['reason']),
  data: optional(text(MAX_DATA_LENGTH)),
  agent_id: optional(AgentIDSchema),
  executor_id: optional(ExecutorIDSchema),
  timestamp: optional(number),
  uuid: optional(StatusUuidSchema),
  healthy: optional(boolean),
  check_status: optional(CheckStatusInfoSchema),
  container_status: optional(
    z.object({ container_id: optional(ContainerIDSchema), executor_pid: optional(number) }),
  ),
});

/** mesos.proto DomainInfo: `--domain` of masters and agents (docs/fault-domains.md). */
export const DomainInfoSchema: z.ZodType<DomainInfo> = z.object({
  fault_domain: optional(
    z.object({
      region: z.object({ name: text(MAX_HOSTNAME_LENGTH, { required: true }) }),
      zone: z.object({ name: text(MAX_HOSTNAME_LENGTH, { required: true }) }),
    }),
  ),
});

const AgentInfoSchema: z.ZodType<AgentInfo> = z.object({
  hostname: nonEmptyText(MAX_HOSTNAME_LENGTH),
  port: optional(number),
  resources: optional(list(ResourceSchema, MAX_RESOURCES)),
  attributes: optional(list(AttributeSchema, MAX_ATTRIBUTES)),
  id: optional(AgentIDSchema),
  domain: optional(DomainInfoSchema),
});

// The calls that carry no body: the agent's answer to a PING.
const BODILESS_AGENT_CALLS: ReadonlySet<string> = new Set(['PONG']);

const AgentStatusUpdateSchema = z.object({
  framework_id: FrameworkIDSchema,
  status: TaskStatusSchema,
});

/**
 * An agent's report, in any of its shapes (agent-protocol.ts, AgentReport): `frameworks`
 * absent (or null), each task carries framework_info; present, no task does, every task's
 * framework is listed, and none twice. `task_resources` (compact, only beside `frameworks`):
 * no task carries its own resources or agent_id, each names a list of the table by
 * `resources_index`, and the table has no more lists than there are tasks. The cross-checks
 * name the task or framework at fault.
 */
const AgentSubscribeSchema = z
  .object({
    agent_info: AgentInfoSchema,
    version: text(MAX_KEY_LENGTH, { required: true }),
    checkpointed_resources: optional(list(ResourceSchema, MAX_RESOURCES)),
    frameworks: optional(
      list(
        z.object({ framework_id: FrameworkIDSchema, framework_info: FrameworkInfoSchema }),
        MAX_REPORTED_FRAMEWORKS,
      ),
    ),
    task_resources: optional(
      list(list(ResourceSchema, MAX_RESOURCES), MAX_REPORTED_RESOURCE_LISTS),
    ),
    tasks: optional(
      list(
        z.object({
          framework_id: FrameworkIDSchema,
          framework_info: optional(FrameworkInfoSchema),
          task: ReportedTaskInfoSchema,
          resources_index: optional(
            number.refine((n) => Number.isSafeInteger(n) && n >= 0, {
              error: 'must be a non-negative integer',
            }),
          ),
          state: TaskStateSchema,
        }),
        MAX_TASKS,
      ),
    ),
  })
  .superRefine((subscribe, ctx) => {
    const tasks = subscribe.tasks ?? [];
    if (!compactFits(subscribe.task_resources, subscribe.frameworks !== undefined, tasks, ctx))
      return;
    if (subscribe.frameworks === undefined) {
      const i = tasks.findIndex((task) => task.framework_info === undefined);
      if (i >= 0)
        ctx.addIssue({
          code: 'custom',
          path: ['tasks', i, 'framework_info'],
          message: 'required (an object), unless subscribe.frameworks lists it',
        });
      return;
    }
    const listed = new Set<string>();
    for (const [i, framework] of subscribe.frameworks.entries()) {
      const value = framework.framework_id.value;
      if (listed.has(value))
        return void ctx.addIssue({
          code: 'custom',
          path: ['frameworks', i, 'framework_id'],
          message: `framework ${describeInput(value)} is listed twice`,
        });
      listed.add(value);
    }
    for (const [i, task] of tasks.entries()) {
      if (task.framework_info !== undefined)
        return void ctx.addIssue({
          code: 'custom',
          path: ['tasks', i, 'framework_info'],
          message: 'not allowed beside subscribe.frameworks, which lists it once',
        });
      if (!listed.has(task.framework_id.value))
        return void ctx.addIssue({
          code: 'custom',
          path: ['tasks', i, 'framework_id'],
          message: `framework ${describeInput(task.framework_id.value)} is not listed in subscribe.frameworks`,
        });
    }
  });

/**
 * Whether the compact report's table and its tasks hold together (an issue added for the
 * first field that does not): without the table, every task has its agent_id and none an
 * index; with it, the table only beside `frameworks` and no longer than the tasks, and no
 * task with resources or an agent_id of its own, every index in the table.
 */
function compactFits(
  table: readonly unknown[] | undefined,
  hasFrameworks: boolean,
  tasks: readonly {
    readonly task: { readonly resources?: unknown; readonly agent_id?: unknown };
    readonly resources_index?: number;
  }[],
  ctx: z.core.$RefinementCtx<unknown>,
): boolean {
  const issue = (path: (string | number)[], message: string) => {
    ctx.addIssue({ code: 'custom', path, message });
    return false;
  };
  if (table === undefined) {
    for (const [i, task] of tasks.entries()) {
      if (task.task.agent_id === undefined)
        return issue(
          ['tasks', i, 'task', 'agent_id'],
          'required (an object), unless subscribe.task_resources is given',
        );
      if (task.resources_index !== undefined)
        return issue(
          ['tasks', i, 'resources_index'],
          'not allowed without subscribe.task_resources',
        );
    }
    return true;
  }
  if (!hasFrameworks) return issue(['task_resources'], 'allowed only beside subscribe.frameworks');
  if (table.length > tasks.length)
    return issue(
      ['task_resources'],
      `lists ${table.length} resources lists for ${tasks.length} tasks: at most one per task`,
    );
  for (const [i, task] of tasks.entries()) {
    if (task.task.resources !== undefined)
      return issue(
        ['tasks', i, 'task', 'resources'],
        'not allowed beside subscribe.task_resources: give tasks[].resources_index',
      );
    if (task.task.agent_id !== undefined)
      return issue(
        ['tasks', i, 'task', 'agent_id'],
        "not allowed beside subscribe.task_resources: the task is the subscribing agent's",
      );
    const index = task.resources_index;
    if (index !== undefined && index >= table.length)
      return issue(
        ['tasks', i, 'resources_index'],
        `${index} is not an index of subscribe.task_resources (${table.length} lists)`,
      );
  }
  return true;
}

export const AgentCallSchema: z.ZodType<AgentCall> = z
  .object({
    type: z.enum(
      [
        'SUBSCRIBE',
        'UPDATE',
        'UPDATES',
        'EXECUTOR_EXITED',
        'EXECUTOR_MESSAGE',
        'PONG',
        'FILES_RESPONSE',
      ],
      {
        error: (issue) =>
          issue.input === undefined
            ? 'required'
            : `unknown call type ${describeInput(issue.input)}`,
      },
    ),
    agent_id: optional(AgentIDSchema),
    subscribe: optional(AgentSubscribeSchema),
    update: optional(AgentStatusUpdateSchema),
    updates: optional(z.object({ updates: list(AgentStatusUpdateSchema, MAX_AGENT_UPDATES) })),
    pong: optional(boolean),
    executor_exited: optional(
      z.object({
        framework_id: FrameworkIDSchema,
        executor_id: ExecutorIDSchema,
        status: number.refine((n) => Number.isInteger(n), { error: 'must be an integer' }),
      }),
    ),
    executor_message: optional(
      z.object({
        framework_id: FrameworkIDSchema,
        executor_id: ExecutorIDSchema,
        data: text(MAX_DATA_LENGTH, { required: true }),
      }),
    ),
    files_response: optional(
      z.object({
        request_id: text(MAX_KEY_LENGTH, { required: true }),
        status: number.refine((n) => Number.isInteger(n) && n >= 100 && n <= 599, {
          error: 'must be an HTTP status',
        }),
        content_type: optional(text(MAX_KEY_LENGTH)),
        body: text(MAX_DATA_LENGTH),
      }),
    ),
  })
  .superRefine((call, ctx) => {
    const body =
      call.type === 'SUBSCRIBE'
        ? 'subscribe'
        : call.type === 'UPDATE'
          ? 'update'
          : call.type === 'UPDATES'
            ? 'updates'
            : call.type === 'EXECUTOR_MESSAGE'
              ? 'executor_message'
              : call.type === 'FILES_RESPONSE'
                ? 'files_response'
                : 'executor_exited';
    if (!BODILESS_AGENT_CALLS.has(call.type) && call[body] === undefined)
      ctx.addIssue({ code: 'custom', path: [body], message: `required for a ${call.type} call` });
    if (call.type !== 'SUBSCRIBE' && call.agent_id === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['agent_id'],
        message: `required for a ${call.type} call`,
      });
  })
  // The refinement checked each type's body and the agent id: the union holds.
  .transform((call) => call as unknown as AgentCall);

const ScalarValueSchema = z.object({
  value: number.refine((v) => Number.isFinite(v) && v >= 0, {
    error: 'must be a finite, non-negative number',
  }),
});

const quotaResources = map(
  nonEmptyText(MAX_RESOURCE_NAME_LENGTH),
  ScalarValueSchema,
  MAX_QUOTA_RESOURCE_NAMES,
);

const QuotaConfigSchema: z.ZodType<QuotaConfigMessage> = z.object({
  role: role({ required: true }),
  guarantees: optional(quotaResources),
  limits: optional(quotaResources),
});

const weight = number.refine((w) => Number.isFinite(w) && w > 0, {
  error: 'must be a positive number',
});

const WeightInfoSchema: z.ZodType<WeightInfo> = z.object({ weight, role: optional(role()) });

/** The body of `PUT /master/weights`: `[{"weight": 2.0, "role": "eng"}]`, roles required. */
export const WeightsBodySchema: z.ZodType<
  readonly { readonly role: string; readonly weight: number }[]
> = list(z.object({ weight, role: role({ required: true }) }), MAX_ROLE_ENTRIES);

export const MachineIDSchema: z.ZodType<MachineID> = z
  .object({
    hostname: optional(text(MAX_HOSTNAME_LENGTH)),
    ip: optional(text(MAX_HOSTNAME_LENGTH)),
  })
  .refine((m) => (m.hostname ?? '') !== '' || (m.ip ?? '') !== '', {
    error: 'a machine needs a hostname or an ip',
  });

const TimeInfoSchema = z.object({
  nanoseconds: number
    .refine((n) => Number.isFinite(n) && Math.abs(n) <= MAX_DURATION_NANOSECONDS, {
      error: 'must be a time within int64 nanoseconds of the epoch (years 1678 to 2262)',
    })
    .transform(Math.round),
});

export const MaintenanceScheduleSchema: z.ZodType<MaintenanceSchedule> = z.object({
  windows: optional(
    list(
      z.object({
        machine_ids: optional(list(MachineIDSchema, MAX_MACHINES)),
        unavailability: z.object({
          start: TimeInfoSchema,
          duration: optional(DurationInfoSchema),
        }),
      }),
      MAX_MACHINES,
    ),
  ),
});

/**
 * google.protobuf.Duration, which DrainAgent uses where every other message
 * has DurationInfo: stout writes it as a plain message, `{"seconds": n,
 * "nanos": n}` (WIRE §1.3). Both parts must agree in sign, as protobuf says;
 * a negative grace period means nothing here.
 */
const GoogleDurationSchema = z
  .object({
    seconds: optional(
      number.refine((n) => Number.isSafeInteger(n) && n >= 0, {
        error: 'must be a whole, non-negative number of seconds',
      }),
    ),
    nanos: optional(
      number.refine((n) => Number.isInteger(n) && n >= 0 && n <= 999_999_999, {
        error: 'must be a whole number of nanoseconds from 0 to 999999999',
      }),
    ),
  })
  .refine((d) => (d.seconds ?? 0) * 1e9 + (d.nanos ?? 0) <= MAX_DURATION_NANOSECONDS, {
    error: 'must be at most 2^63-1 nanoseconds',
  });
/** The deprecated QuotaRequest (quota.proto): SET_QUOTA's body and legacy POST /quota's. */
const QuotaRequestSchema = z.object({
  force: optional(boolean),
  role: optional(role()),
  guarantee: optional(list(ResourceSchema, MAX_RESOURCES)),
});

const VolumeChangeSchema = z.object({
  agent_id: AgentIDSchema,
  volumes: list(ResourceSchema, MAX_RESOURCES),
});
const AgentBodySchema = z.object({ agent_id: AgentIDSchema });
const MachinesSchema = z.object({ machines: list(MachineIDSchema, MAX_MACHINES) });

// The body each operator call type must carry.
const REQUIRED_OPERATOR_BODY: Partial<Record<(typeof MASTER_CALL_TYPES)[number], string>> = {
  SET_LOGGING_LEVEL: 'set_logging_level',
  LIST_FILES: 'list_files',
  READ_FILE: 'read_file',
  TEARDOWN: 'teardown',
  UPDATE_WEIGHTS: 'update_weights',
  UPDATE_QUOTA: 'update_quota',
  SET_QUOTA: 'set_quota',
  REMOVE_QUOTA: 'remove_quota',
  RESERVE_RESOURCES: 'reserve_resources',
  UNRESERVE_RESOURCES: 'unreserve_resources',
  CREATE_VOLUMES: 'create_volumes',
  DESTROY_VOLUMES: 'destroy_volumes',
  GROW_VOLUME: 'grow_volume',
  SHRINK_VOLUME: 'shrink_volume',
  UPDATE_MAINTENANCE_SCHEDULE: 'update_maintenance_schedule',
  START_MAINTENANCE: 'start_maintenance',
  STOP_MAINTENANCE: 'stop_maintenance',
  DRAIN_AGENT: 'drain_agent',
  DEACTIVATE_AGENT: 'deactivate_agent',
  REACTIVATE_AGENT: 'reactivate_agent',
  MARK_AGENT_GONE: 'mark_agent_gone',
};

/** The calls the master's and the agent's operator APIs both take, validated alike. */
const SHARED_OPERATOR_FIELDS = {
  get_metrics: optional(z.object({ timeout: optional(DurationInfoSchema) })),
  set_logging_level: optional(
    z.object({
      level: number.refine((l) => Number.isInteger(l) && l >= 0 && l <= 10, {
        error: 'must be a whole number from 0 to 10',
      }),
      duration: DurationInfoSchema,
    }),
  ),
  list_files: optional(z.object({ path: nonEmptyText(MAX_PATH_LENGTH) })),
  read_file: optional(
    z.object({
      path: nonEmptyText(MAX_PATH_LENGTH),
      offset: number.refine((o) => Number.isSafeInteger(o) && o >= 0, {
        error: 'must be a non-negative integer',
      }),
      length: optional(
        number.refine((l) => Number.isSafeInteger(l) && l >= 0, {
          error: 'must be a non-negative integer',
        }),
      ),
    }),
  ),
};

export const MasterCallSchema: z.ZodType<MasterCall> = z
  .object({
    type: z.enum(MASTER_CALL_TYPES, {
      error: (issue) =>
        issue.input === undefined ? 'required' : `unknown call type ${describeInput(issue.input)}`,
    }),
    ...SHARED_OPERATOR_FIELDS,
    teardown: optional(z.object({ framework_id: FrameworkIDSchema })),
    update_weights: optional(z.object({ weight_infos: list(WeightInfoSchema, MAX_ROLE_ENTRIES) })),
    update_quota: optional(
      z.object({
        force: optional(boolean),
        quota_configs: list(QuotaConfigSchema, MAX_ROLE_ENTRIES),
      }),
    ),
    set_quota: optional(z.object({ quota_request: QuotaRequestSchema })),
    remove_quota: optional(z.object({ role: role({ required: true }) })),
    reserve_resources: optional(
      z.object({
        agent_id: AgentIDSchema,
        source: optional(list(ResourceSchema, MAX_RESOURCES)),
        resources: optional(list(ResourceSchema, MAX_RESOURCES)),
      }),
    ),
    unreserve_resources: optional(
      z.object({
        agent_id: AgentIDSchema,
        resources: optional(list(ResourceSchema, MAX_RESOURCES)),
      }),
    ),
    create_volumes: optional(VolumeChangeSchema),
    destroy_volumes: optional(VolumeChangeSchema),
    grow_volume: optional(
      z.object({
        agent_id: optional(AgentIDSchema),
        volume: ResourceSchema,
        addition: ResourceSchema,
      }),
    ),
    shrink_volume: optional(
      z.object({
        agent_id: optional(AgentIDSchema),
        volume: ResourceSchema,
        subtract: z.object({
          value: number.refine((v) => Number.isFinite(v) && v > 0, {
            error: 'must be a positive number',
          }),
        }),
      }),
    ),
    update_maintenance_schedule: optional(z.object({ schedule: MaintenanceScheduleSchema })),
    start_maintenance: optional(MachinesSchema),
    stop_maintenance: optional(MachinesSchema),
    drain_agent: optional(
      z.object({
        agent_id: AgentIDSchema,
        max_grace_period: optional(GoogleDurationSchema),
        mark_gone: optional(boolean),
      }),
    ),
    deactivate_agent: optional(AgentBodySchema),
    reactivate_agent: optional(AgentBodySchema),
    mark_agent_gone: optional(AgentBodySchema),
  })
  .superRefine((call, ctx) => {
    const body = REQUIRED_OPERATOR_BODY[call.type];
    if (body !== undefined && (call as Record<string, unknown>)[body] === undefined)
      ctx.addIssue({ code: 'custom', path: [body], message: `required for a ${call.type} call` });
  })
  // The refinement checked each type's body: the union holds.
  .transform((call) => call as unknown as MasterCall);

/** The body of `POST /maintenance/schedule` (a Schedule) and of `/machine/down|up` (MachineIDs). */
export const parseMaintenanceSchedule = (input: unknown): MaintenanceSchedule =>
  parseWith(MaintenanceScheduleSchema, input);
export const parseMachineIds = (input: unknown): readonly MachineID[] =>
  parseWith(list(MachineIDSchema, MAX_MACHINES), input);

export const parseMasterCall = (input: unknown): MasterCall => parseWith(MasterCallSchema, input);

/** The body of legacy `POST /master/quota`: a QuotaRequest. */
export const parseQuotaRequest = (input: unknown): QuotaRequest =>
  parseWith(QuotaRequestSchema, input);

/**
 * Formats a zod path as people write it: `accept.offer_ids[0].value`. A map's keys come from
 * the request, so each part is cut short; the path's length is bounded by MAX_JSON_DEPTH.
 */
function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => {
      if (typeof part === 'number') return `[${part}]`;
      const name = clip(String(part), MAX_QUOTED_LENGTH);
      return i === 0 ? name : `.${name}`;
    })
    .join('');
}

/**
 * Parses `input` or throws BadRequestError naming the first offending field. Only the first
 * issue is formatted, and its message is cut to MAX_ERROR_MESSAGE_LENGTH.
 */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  if (issue === undefined) throw new BadRequestError('', 'invalid input');
  throw new BadRequestError(fieldPath(issue.path), clip(issue.message, MAX_ERROR_MESSAGE_LENGTH));
}

// The hottest calls in their plain form take the hand-written path (fast-calls.ts); the
// rest, and every call with a problem, the schema, which words the 400.
export const parseCall = (input: unknown): Call => fastCall(input) ?? parseWith(CallSchema, input);
export const parseAgentCall = (input: unknown): AgentCall =>
  fastAgentCall(input) ?? parseWith(AgentCallSchema, input);
export const parseResources = (input: unknown): readonly Resource[] =>
  parseWith(list(ResourceSchema, MAX_RESOURCES), input);

// ------------------------------------------------------------ agent operator API

const NestedContainerIDSchema: z.ZodType<NestedContainerID> = z.lazy(() =>
  z.object({
    value: idValue,
    parent: optional(NestedContainerIDSchema),
  }),
);

const ProcessIOSchema: z.ZodType<ProcessIO> = z.union([
  z.object({
    type: z.literal('DATA'),
    data: z.object({
      type: z.enum(['STDIN', 'STDOUT', 'STDERR']),
      data: text(MAX_DATA_LENGTH, { required: true }),
    }),
  }),
  z.object({
    type: z.literal('CONTROL'),
    control: z.object({
      type: z.enum(['TTY_INFO', 'HEARTBEAT']),
      heartbeat: optional(z.object({ interval: optional(DurationInfoSchema) })),
    }),
  }),
]);

const ContainerBodySchema = z.object({ container_id: NestedContainerIDSchema });
const LaunchContainerBodySchema = z.object({
  container_id: NestedContainerIDSchema,
  command: optional(CommandInfoSchema),
  // A standalone container's (LAUNCH_CONTAINER without a parent): what it may use, and how.
  resources: optional(list(ResourceSchema, MAX_RESOURCES)),
  // Its limits above those resources (Mesos 1.10): cpus and mem, checked by the agent.
  limits: optional(quotaResources),
  container: optional(
    z
      .record(z.string(), z.unknown())
      .refine((container) => JSON.stringify(container).length <= MAX_CONTAINER_JSON_LENGTH, {
        error: `at most ${MAX_CONTAINER_JSON_LENGTH} characters as JSON`,
      }),
  ),
});
const KillContainerBodySchema = z.object({
  container_id: NestedContainerIDSchema,
  signal: optional(
    number.refine((s) => Number.isInteger(s) && s > 0 && s < 65, {
      error: 'must be a signal number from 1 to 64',
    }),
  ),
});

const REQUIRED_AGENT_OPERATOR_BODY: Partial<
  Record<(typeof AGENT_OPERATOR_CALL_TYPES)[number], string>
> = {
  SET_LOGGING_LEVEL: 'set_logging_level',
  LIST_FILES: 'list_files',
  READ_FILE: 'read_file',
  LAUNCH_NESTED_CONTAINER_SESSION: 'launch_nested_container_session',
  ATTACH_CONTAINER_INPUT: 'attach_container_input',
  ATTACH_CONTAINER_OUTPUT: 'attach_container_output',
  LAUNCH_CONTAINER: 'launch_container',
  WAIT_CONTAINER: 'wait_container',
  KILL_CONTAINER: 'kill_container',
  REMOVE_CONTAINER: 'remove_container',
  LAUNCH_NESTED_CONTAINER: 'launch_nested_container',
  WAIT_NESTED_CONTAINER: 'wait_nested_container',
  KILL_NESTED_CONTAINER: 'kill_nested_container',
  REMOVE_NESTED_CONTAINER: 'remove_nested_container',
};

export const AgentOperatorCallSchema: z.ZodType<AgentOperatorCall> = z
  .object({
    type: z.enum(AGENT_OPERATOR_CALL_TYPES, {
      error: (issue) =>
        issue.input === undefined ? 'required' : `unknown call type ${describeInput(issue.input)}`,
    }),
    ...SHARED_OPERATOR_FIELDS,
    get_containers: optional(
      z.object({ show_nested: optional(boolean), show_standalone: optional(boolean) }),
    ),
    launch_nested_container_session: optional(LaunchContainerBodySchema),
    attach_container_input: optional(
      z.object({
        type: z.enum(['CONTAINER_ID', 'PROCESS_IO']),
        container_id: optional(NestedContainerIDSchema),
        process_io: optional(ProcessIOSchema),
      }),
    ),
    attach_container_output: optional(ContainerBodySchema),
    launch_container: optional(LaunchContainerBodySchema),
    wait_container: optional(ContainerBodySchema),
    kill_container: optional(KillContainerBodySchema),
    remove_container: optional(ContainerBodySchema),
    launch_nested_container: optional(LaunchContainerBodySchema),
    wait_nested_container: optional(ContainerBodySchema),
    kill_nested_container: optional(KillContainerBodySchema),
    remove_nested_container: optional(ContainerBodySchema),
  })
  .superRefine((call, ctx) => {
    const body = REQUIRED_AGENT_OPERATOR_BODY[call.type];
    if (body !== undefined && (call as Record<string, unknown>)[body] === undefined)
      ctx.addIssue({ code: 'custom', path: [body], message: `required for a ${call.type} call` });
  })
  // The refinement checked each type's body: the union holds.
  .transform((call) => call as unknown as AgentOperatorCall);

export const parseAgentOperatorCall = (input: unknown): AgentOperatorCall =>
  parseWith(AgentOperatorCallSchema, input);
export const parseProcessIO = (input: unknown): ProcessIO => parseWith(ProcessIOSchema, input);

/** Tasks and updates one executor may list when it (re)subscribes: it runs a handful. */
const MAX_EXECUTOR_SUBSCRIBE_ENTRIES = 10_000;

const REQUIRED_EXECUTOR_BODY: Partial<Record<(typeof EXECUTOR_CALL_TYPES)[number], string>> = {
  SUBSCRIBE: 'subscribe',
  UPDATE: 'update',
  MESSAGE: 'message',
};

/** mesos.v1.executor.Call (WIRE §5): the envelope's ids are required on every call. */
export const ExecutorCallSchema: z.ZodType<ExecutorCall> = z
  .object({
    executor_id: ExecutorIDSchema,
    framework_id: FrameworkIDSchema,
    type: z.enum(EXECUTOR_CALL_TYPES, {
      error: (issue) =>
        issue.input === undefined ? 'required' : `unknown call type ${describeInput(issue.input)}`,
    }),
    subscribe: optional(
      z.object({
        unacknowledged_tasks: optional(list(TaskInfoSchema, MAX_EXECUTOR_SUBSCRIBE_ENTRIES)),
        unacknowledged_updates: optional(
          list(z.object({ status: TaskStatusSchema }), MAX_EXECUTOR_SUBSCRIBE_ENTRIES),
        ),
      }),
    ),
    update: optional(z.object({ status: TaskStatusSchema })),
    message: optional(z.object({ data: text(MAX_DATA_LENGTH, { required: true }) })),
  })
  .superRefine((call, ctx) => {
    const body = REQUIRED_EXECUTOR_BODY[call.type];
    if (body !== undefined && (call as Record<string, unknown>)[body] === undefined)
      ctx.addIssue({ code: 'custom', path: [body], message: `required for a ${call.type} call` });
  })
  // The refinement checked each type's body: the union holds.
  .transform((call) => call as unknown as ExecutorCall);

export const parseExecutorCall = (input: unknown): ExecutorCall =>
  parseWith(ExecutorCallSchema, input);

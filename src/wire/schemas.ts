// Validation of everything Agora accepts over HTTP. Mesos' JSON rules (WIRE §1.2):
// unknown keys are ignored, `null` means "not set", numbers and booleans may come
// as strings. Each schema is checked against its hand-written type (z.ZodType<T>)
// so the two cannot drift apart.
// Long file: one schema per wire message, together so the JSON rules apply uniformly.
import { z } from 'zod';
import type { AgentCall } from './agent-protocol.js';
import { durationNanosecondsProblem, durationSecondsProblem } from './duration.js';
import { BadRequestError } from './errors.js';
import type { AgentID, ContainerID, ExecutorID, FrameworkID, OfferID, TaskID } from './ids.js';
import type {
  AgentInfo,
  Attribute,
  CommandInfo,
  ExecutorInfo,
  Filters,
  FrameworkInfo,
  KillPolicy,
  Labels,
  ReservationInfo,
  Resource,
  TaskInfo,
  TaskStatus,
} from './messages.js';
import { MASTER_CALL_TYPES, type MasterCall, type QuotaConfigMessage } from './operator.js';
import type { Call, OfferOperation, Subscribe } from './scheduler.js';
import { isValidStatusUuid } from './status-uuid.js';
import { TASK_STATES } from './task-state.js';

/** `null` means unset, as in stout's JSON decoding. */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null ? undefined : v), schema.optional());
}

const number = z.preprocess(
  (v) =>
    typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*([eE][-+]?\d+)?|Infinity)\s*$/.test(v)
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
const nonEmpty = z.string().min(1, { error: 'must not be empty' });

function id<T extends { readonly value: string }>(): z.ZodType<T> {
  return z
    .object({ value: nonEmpty })
    .transform((v) => v as unknown as T) as unknown as z.ZodType<T>;
}
const FrameworkIDSchema = id<FrameworkID>();
const AgentIDSchema = id<AgentID>();
const OfferIDSchema = id<OfferID>();
const TaskIDSchema = id<TaskID>();
const ExecutorIDSchema = id<ExecutorID>();
const ContainerIDSchema = id<ContainerID>();

const LabelsSchema: z.ZodType<Labels> = z.object({
  labels: z.array(z.object({ key: z.string(), value: optional(z.string()) })),
});

const ReservationInfoSchema: z.ZodType<ReservationInfo> = z.object({
  type: optional(z.enum(['UNKNOWN', 'STATIC', 'DYNAMIC'])),
  role: optional(z.string()),
  principal: optional(z.string()),
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
    name: nonEmpty,
    type: z.enum(['SCALAR', 'RANGES', 'SET'], { error: 'expected SCALAR, RANGES or SET' }),
    scalar: optional(z.object({ value: number })),
    ranges: optional(z.object({ range: z.array(RangeSchema) })),
    set: optional(z.object({ item: z.array(z.string()) })),
    role: optional(z.string()),
    reservation: optional(ReservationInfoSchema),
    reservations: optional(z.array(ReservationInfoSchema)),
    allocation_info: optional(z.object({ role: z.string() })),
    disk: optional(
      z.object({
        persistence: optional(z.object({ id: nonEmpty, principal: optional(z.string()) })),
        volume: optional(z.object({ container_path: nonEmpty, mode: z.enum(['RW', 'RO']) })),
        source: optional(z.object({ type: z.string() })),
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
  name: nonEmpty,
  type: z.enum(['SCALAR', 'RANGES', 'SET', 'TEXT']),
  scalar: optional(z.object({ value: number })),
  ranges: optional(z.object({ range: z.array(RangeSchema) })),
  set: optional(z.object({ item: z.array(z.string()) })),
  text: optional(z.object({ value: z.string() })),
});

const CapabilitySchema = z.object({
  type: z.enum([
    'UNKNOWN',
    'REVOCABLE_RESOURCES',
    'TASK_KILLING_STATE',
    'GPU_RESOURCES',
    'SHARED_RESOURCES',
    'PARTITION_AWARE',
    'MULTI_ROLE',
    'RESERVATION_REFINEMENT',
    'REGION_AWARE',
  ]),
});

export const FrameworkInfoSchema: z.ZodType<FrameworkInfo> = z.object({
  user: z.string({ error: 'required (a string)' }),
  name: z.string({ error: 'required (a string)' }),
  id: optional(FrameworkIDSchema),
  failover_timeout: optional(number.superRefine(durationIn(durationSecondsProblem))),
  checkpoint: optional(boolean),
  role: optional(z.string()),
  roles: optional(z.array(z.string())),
  hostname: optional(z.string()),
  principal: optional(z.string()),
  webui_url: optional(z.string()),
  // Mesos drops unknown enum values of repeated fields rather than failing.
  capabilities: optional(
    z.array(z.unknown()).transform((list) =>
      list.flatMap((c) => {
        const parsed = CapabilitySchema.safeParse(c);
        return parsed.success ? [parsed.data] : [];
      }),
    ),
  ),
  labels: optional(LabelsSchema),
});

const FiltersSchema: z.ZodType<Filters> = z.object({ refuse_seconds: optional(number) });

const DurationInfoSchema = z.object({
  nanoseconds: number.superRefine(durationIn(durationNanosecondsProblem)),
});
const KillPolicySchema: z.ZodType<KillPolicy> = z.object({
  grace_period: optional(DurationInfoSchema),
});

const CommandInfoSchema: z.ZodType<CommandInfo> = z.object({
  uris: optional(
    z.array(
      z.object({
        value: nonEmpty,
        executable: optional(boolean),
        extract: optional(boolean),
        cache: optional(boolean),
        output_file: optional(z.string()),
      }),
    ),
  ),
  environment: optional(
    z.object({
      variables: z.array(
        z.object({
          name: nonEmpty,
          type: optional(z.enum(['UNKNOWN', 'VALUE', 'SECRET'])),
          value: optional(z.string()),
        }),
      ),
    }),
  ),
  shell: optional(boolean),
  value: optional(z.string()),
  arguments: optional(z.array(z.string())),
  user: optional(z.string()),
});

const ExecutorInfoSchema: z.ZodType<ExecutorInfo> = z.object({
  type: optional(z.enum(['UNKNOWN', 'DEFAULT', 'CUSTOM'])),
  executor_id: ExecutorIDSchema,
  framework_id: optional(FrameworkIDSchema),
  command: optional(CommandInfoSchema),
  resources: optional(z.array(ResourceSchema)),
  name: optional(z.string()),
});

export const TaskInfoSchema: z.ZodType<TaskInfo> = z.object({
  name: z.string({ error: 'required (a string)' }),
  task_id: TaskIDSchema,
  agent_id: AgentIDSchema,
  resources: optional(z.array(ResourceSchema)),
  executor: optional(ExecutorInfoSchema),
  command: optional(CommandInfoSchema),
  container: optional(z.record(z.string(), z.unknown())),
  kill_policy: optional(KillPolicySchema),
  data: optional(z.string()),
  labels: optional(LabelsSchema),
});

const OfferOperationSchema: z.ZodType<OfferOperation> = z.object({
  type: z.enum(
    [
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
    ],
    { error: (issue) => `unknown operation type ${JSON.stringify(issue.input)}` },
  ),
  id: optional(z.object({ value: nonEmpty })),
  launch: optional(z.object({ task_infos: z.array(TaskInfoSchema) })),
  reserve: optional(
    z.object({ resources: z.array(ResourceSchema), source: optional(z.array(ResourceSchema)) }),
  ),
  unreserve: optional(z.object({ resources: z.array(ResourceSchema) })),
});

const SubscribeSchema: z.ZodType<Subscribe> = z.object({
  framework_info: FrameworkInfoSchema,
  suppressed_roles: optional(z.array(z.string())),
});

const RolesSchema = z.object({ roles: optional(z.array(z.string())) });

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

const CallEnvelopeSchema = z.object({
  framework_id: optional(FrameworkIDSchema),
  type: z.enum(CALL_TYPES, {
    error: (issue) =>
      issue.input === undefined ? 'required' : `unknown call type ${JSON.stringify(issue.input)}`,
  }),
  subscribe: optional(SubscribeSchema),
  accept: optional(
    z.object({
      offer_ids: z.array(OfferIDSchema),
      operations: optional(z.array(OfferOperationSchema)),
      filters: optional(FiltersSchema),
    }),
  ),
  decline: optional(
    z.object({ offer_ids: z.array(OfferIDSchema), filters: optional(FiltersSchema) }),
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
        z.array(z.object({ task_id: TaskIDSchema, agent_id: optional(AgentIDSchema) })),
      ),
    }),
  ),
  revive: optional(RolesSchema),
  suppress: optional(RolesSchema),
  update_framework: optional(SubscribeSchema),
  shutdown: optional(z.object({ executor_id: ExecutorIDSchema, agent_id: AgentIDSchema })),
  message: optional(
    z.object({ agent_id: AgentIDSchema, executor_id: ExecutorIDSchema, data: z.string() }),
  ),
});

// The body each call type must carry (WIRE §2.1, "body present").
const REQUIRED_BODY: Partial<Record<(typeof CALL_TYPES)[number], keyof Call>> = {
  SUBSCRIBE: 'subscribe',
  ACCEPT: 'accept',
  DECLINE: 'decline',
  KILL: 'kill',
  SHUTDOWN: 'shutdown',
  ACKNOWLEDGE: 'acknowledge',
  RECONCILE: 'reconcile',
  MESSAGE: 'message',
  UPDATE_FRAMEWORK: 'update_framework',
};

export const CallSchema: z.ZodType<Call> = CallEnvelopeSchema.superRefine((call, ctx) => {
  const body = REQUIRED_BODY[call.type];
  if (body !== undefined && call[body] === undefined)
    ctx.addIssue({ code: 'custom', path: [body], message: `required for a ${call.type} call` });
  if (call.type !== 'SUBSCRIBE' && call.framework_id === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['framework_id'],
      message: `required for a ${call.type} call`,
    });
});

const TaskStateSchema = z.enum(TASK_STATES);

const TaskStatusSchema: z.ZodType<TaskStatus> = z.object({
  task_id: TaskIDSchema,
  state: TaskStateSchema,
  message: optional(z.string()),
  source: optional(z.enum(['SOURCE_MASTER', 'SOURCE_AGENT', 'SOURCE_EXECUTOR'])),
  reason: optional(z.string()).transform((r) => r as TaskStatus['reason']),
  data: optional(z.string()),
  agent_id: optional(AgentIDSchema),
  executor_id: optional(ExecutorIDSchema),
  timestamp: optional(number),
  uuid: optional(StatusUuidSchema),
  healthy: optional(boolean),
  container_status: optional(
    z.object({ container_id: optional(ContainerIDSchema), executor_pid: optional(number) }),
  ),
});

const AgentInfoSchema: z.ZodType<AgentInfo> = z.object({
  hostname: nonEmpty,
  port: optional(number),
  resources: optional(z.array(ResourceSchema)),
  attributes: optional(z.array(AttributeSchema)),
  id: optional(AgentIDSchema),
});

const AgentCallSchema: z.ZodType<AgentCall> = z
  .object({
    type: z.enum(['SUBSCRIBE', 'UPDATE'], {
      error: (issue) =>
        issue.input === undefined ? 'required' : `unknown call type ${JSON.stringify(issue.input)}`,
    }),
    agent_id: optional(AgentIDSchema),
    subscribe: optional(
      z.object({
        agent_info: AgentInfoSchema,
        version: z.string(),
        checkpointed_resources: optional(z.array(ResourceSchema)),
        tasks: optional(
          z.array(
            z.object({
              framework_id: FrameworkIDSchema,
              framework_info: FrameworkInfoSchema,
              task: TaskInfoSchema,
              state: TaskStateSchema,
            }),
          ),
        ),
      }),
    ),
    update: optional(z.object({ framework_id: FrameworkIDSchema, status: TaskStatusSchema })),
  })
  .superRefine((call, ctx) => {
    const body = call.type === 'SUBSCRIBE' ? 'subscribe' : 'update';
    if (call[body] === undefined)
      ctx.addIssue({ code: 'custom', path: [body], message: `required for a ${call.type} call` });
    if (call.type !== 'SUBSCRIBE' && call.agent_id === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['agent_id'],
        message: `required for a ${call.type} call`,
      });
  });

const ScalarValueSchema = z.object({
  value: number.refine((v) => Number.isFinite(v) && v >= 0, {
    error: 'must be a finite, non-negative number',
  }),
});

const QuotaConfigSchema: z.ZodType<QuotaConfigMessage> = z.object({
  role: z.string({ error: 'required (a string)' }),
  guarantees: optional(z.record(z.string(), ScalarValueSchema)),
  limits: optional(z.record(z.string(), ScalarValueSchema)),
});

// The body each operator call type must carry.
const REQUIRED_OPERATOR_BODY: Partial<
  Record<(typeof MASTER_CALL_TYPES)[number], keyof MasterCall>
> = {
  TEARDOWN: 'teardown',
  UPDATE_WEIGHTS: 'update_weights',
  UPDATE_QUOTA: 'update_quota',
  SET_QUOTA: 'set_quota',
  REMOVE_QUOTA: 'remove_quota',
  RESERVE_RESOURCES: 'reserve_resources',
  UNRESERVE_RESOURCES: 'unreserve_resources',
};

export const MasterCallSchema: z.ZodType<MasterCall> = z
  .object({
    type: z.enum(MASTER_CALL_TYPES, {
      error: (issue) =>
        issue.input === undefined ? 'required' : `unknown call type ${JSON.stringify(issue.input)}`,
    }),
    teardown: optional(z.object({ framework_id: FrameworkIDSchema })),
    update_weights: optional(
      z.object({
        weight_infos: z.array(
          z.object({
            weight: number.refine((w) => Number.isFinite(w) && w > 0, {
              error: 'must be a positive number',
            }),
            role: optional(z.string()),
          }),
        ),
      }),
    ),
    update_quota: optional(
      z.object({ force: optional(boolean), quota_configs: z.array(QuotaConfigSchema) }),
    ),
    set_quota: optional(
      z.object({
        quota_request: z.object({
          force: optional(boolean),
          role: optional(z.string()),
          guarantee: optional(z.array(ResourceSchema)),
        }),
      }),
    ),
    remove_quota: optional(z.object({ role: z.string({ error: 'required (a string)' }) })),
    reserve_resources: optional(
      z.object({
        agent_id: AgentIDSchema,
        source: optional(z.array(ResourceSchema)),
        resources: optional(z.array(ResourceSchema)),
      }),
    ),
    unreserve_resources: optional(
      z.object({ agent_id: AgentIDSchema, resources: optional(z.array(ResourceSchema)) }),
    ),
  })
  .superRefine((call, ctx) => {
    const body = REQUIRED_OPERATOR_BODY[call.type];
    if (body !== undefined && call[body] === undefined)
      ctx.addIssue({ code: 'custom', path: [body], message: `required for a ${call.type} call` });
  });

export const parseMasterCall = (input: unknown): MasterCall => parseWith(MasterCallSchema, input);

/** Formats a zod path as people write it: `accept.offer_ids[0].value`. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) =>
      typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`,
    )
    .join('');
}

/** Parses `input` or throws BadRequestError naming the first offending field. */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  if (issue === undefined) throw new BadRequestError('', 'invalid input');
  throw new BadRequestError(fieldPath(issue.path), issue.message);
}

export const parseCall = (input: unknown): Call => parseWith(CallSchema, input);
export const parseAgentCall = (input: unknown): AgentCall => parseWith(AgentCallSchema, input);
export const parseResources = (input: unknown): readonly Resource[] =>
  parseWith(z.array(ResourceSchema), input);

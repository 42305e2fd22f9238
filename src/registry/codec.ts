// JSON forms of operations and snapshots. Encoding is deterministic (object keys
// sorted, maps as arrays sorted by key) so equal states give equal bytes; decoding
// checks the shape, because a record that passed its CRC but does not parse means
// a bug or a version we do not understand, and must not be replayed blindly.
import assert from 'node:assert/strict';
import { z } from 'zod';
import {
  type AgentInfo,
  AttributeSchema,
  agentId,
  DomainInfoSchema,
  type DrainConfig,
  FrameworkInfoSchema,
  frameworkId,
  MachineIDSchema,
  MaintenanceScheduleSchema,
  ResourceSchema,
} from '../wire/index.js';
import type {
  AgentDrainInfo,
  QuotaConfig,
  RegisteredFramework,
  RegistryOperation,
  RegistryState,
} from './state.js';

/**
 * Bumped when a snapshot's shape changes. Formats 1 (agents, weights, quotas)
 * and 2 (frameworks, unreachable and gone agents) are still read: they are
 * format 3 without what came later (no maintenance, no drained or deactivated
 * agents).
 */
export const SNAPSHOT_FORMAT = 3;
/** The snapshot formats this build reads. */
export const SNAPSHOT_FORMATS: readonly number[] = [1, 2, SNAPSHOT_FORMAT];

export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly reason: string;
      /** Set when the input is of a format past this build's (a newer build wrote it). */
      readonly newerFormat?: number;
    };

export interface Snapshot {
  /** Which log continues this snapshot: `log.<generation>`. */
  readonly generation: number;
  readonly state: RegistryState;
}

/**
 * JSON with object keys in code-point order and `undefined` properties left out,
 * as JSON.stringify does. Fails an assertion on what JSON cannot round-trip (NaN,
 * Infinity, bigint, functions, Maps): such a value would be written fine and then
 * make recovery fail, so it is refused before anything reaches the disk.
 */
export function canonicalJson(value: unknown, path = '$'): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    assert.ok(Number.isFinite(value), `${path} is not a finite number: ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    return `[${items.map((item, i) => canonicalJson(item, `${path}[${i}]`)).join(',')}]`;
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    const entries: [string, unknown][] = Object.entries(value);
    const members = entries
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, `${path}.${k}`)}`);
    return `{${members.join(',')}}`;
  }
  return assert.fail(`${path} cannot be stored as JSON: ${describe(value)}`);
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null) return value.constructor.name;
  return typeof value;
}

const byKey =
  <T>(key: (item: T) => string) =>
  (a: T, b: T) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };

export function encodeOperation(op: RegistryOperation): string {
  return canonicalJson(op);
}

export function encodeSnapshot(generation: number, state: RegistryState): string {
  assert.ok(Number.isSafeInteger(generation) && generation >= 0, `bad generation ${generation}`);
  return canonicalJson({
    format: SNAPSHOT_FORMAT,
    generation,
    state: {
      agents: [...state.agents.values()].sort(byKey((agent) => agent.id?.value ?? '')),
      weights: [...state.weights]
        .map(([role, weight]) => ({ role, weight }))
        .sort(byKey((w) => w.role)),
      quotas: [...state.quotas.values()].sort(byKey((q) => q.role)),
      unreachable_agents: [...state.unreachableAgents]
        .map(([id, sinceSec]) => ({ id, since_sec: sinceSec }))
        .sort(byKey((u) => u.id)),
      gone_agents: [...state.goneAgents].sort(),
      frameworks: [...state.frameworks.values()].sort(byKey((f) => f.info.id?.value ?? '')),
      removed_frameworks: state.removedFrameworks,
      deactivated_agents: [...state.deactivatedAgents].sort(),
      draining_agents: [...state.drainingAgents]
        .map(([id, drain]) => ({ id, ...drain }))
        .sort(byKey((d) => d.id)),
      schedule: state.schedule,
      down_machines: state.downMachines,
    },
  });
}

const AgentIdSchema = z.object({ value: z.string().min(1) }).transform((id) => agentId(id.value));

// Loose: fields a newer Agora added to AgentInfo survive a recovery by this one.
const AdmittedAgentSchema = z.looseObject({
  hostname: z.string(),
  port: z.number().optional(),
  resources: z.array(ResourceSchema).optional(),
  attributes: z.array(AttributeSchema).optional(),
  id: AgentIdSchema,
  domain: DomainInfoSchema.optional(),
});

const DrainConfigSchema: z.ZodType<DrainConfig> = z.object({
  max_grace_period: z.object({ nanoseconds: z.number().nonnegative() }).optional(),
  mark_gone: z.boolean().optional(),
});

const DrainStateSchema = z.enum(['DRAINING', 'DRAINED']);

const WeightSchema = z.object({ role: z.string().min(1), weight: z.number().positive() });

const QuantitiesSchema = z.record(z.string(), z.number().nonnegative());
const QuotaConfigSchema: z.ZodType<QuotaConfig> = z.object({
  role: z.string().min(1),
  guarantees: QuantitiesSchema,
  limits: QuantitiesSchema,
});

const FrameworkIdSchema = z
  .object({ value: z.string().min(1) })
  .transform((id) => frameworkId(id.value));

const RegisteredFrameworkSchema: z.ZodType<RegisteredFramework> = z.object({
  info: FrameworkInfoSchema.refine((info) => info.id !== undefined, { error: 'id is required' }),
  registeredTimeSec: z.number(),
});

const OperationSchema: z.ZodType<RegistryOperation> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('admitAgent'), agent: AdmittedAgentSchema }),
  z.object({ kind: z.literal('removeAgent'), agentId: AgentIdSchema }),
  z.object({
    kind: z.literal('markAgentUnreachable'),
    agentId: AgentIdSchema,
    sinceSec: z.number(),
  }),
  z.object({ kind: z.literal('markAgentGone'), agentId: AgentIdSchema }),
  z.object({ kind: z.literal('addFramework'), framework: RegisteredFrameworkSchema }),
  z.object({ kind: z.literal('removeFramework'), frameworkId: FrameworkIdSchema }),
  z.object({ kind: z.literal('updateWeights'), weights: z.array(WeightSchema) }),
  z.object({ kind: z.literal('updateQuotas'), configs: z.array(QuotaConfigSchema) }),
  z.object({ kind: z.literal('deactivateAgent'), agentId: AgentIdSchema }),
  z.object({ kind: z.literal('reactivateAgent'), agentId: AgentIdSchema }),
  z.object({ kind: z.literal('drainAgent'), agentId: AgentIdSchema, config: DrainConfigSchema }),
  z.object({ kind: z.literal('markAgentDrained'), agentId: AgentIdSchema }),
  z.object({
    kind: z.literal('updateMaintenanceSchedule'),
    schedule: MaintenanceScheduleSchema,
  }),
  z.object({ kind: z.literal('startMaintenance'), machines: z.array(MachineIDSchema) }),
  z.object({ kind: z.literal('stopMaintenance'), machines: z.array(MachineIDSchema) }),
]);

const SnapshotSchema = z.object({
  format: z.union([z.literal(1), z.literal(2), z.literal(SNAPSHOT_FORMAT)]),
  generation: z.number().int().nonnegative(),
  state: z.object({
    agents: z.array(AdmittedAgentSchema),
    weights: z.array(WeightSchema),
    quotas: z.array(QuotaConfigSchema),
    // Absent in format 1.
    unreachable_agents: z
      .array(z.object({ id: z.string().min(1), since_sec: z.number() }))
      .default([]),
    gone_agents: z.array(z.string().min(1)).default([]),
    frameworks: z.array(RegisteredFrameworkSchema).default([]),
    removed_frameworks: z.array(z.string().min(1)).default([]),
    // Absent before format 3.
    deactivated_agents: z.array(z.string().min(1)).default([]),
    draining_agents: z
      .array(
        z.object({ id: z.string().min(1), state: DrainStateSchema, config: DrainConfigSchema }),
      )
      .default([]),
    schedule: MaintenanceScheduleSchema.default({}),
    down_machines: z.array(MachineIDSchema).default([]),
  }),
});

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parse<T>(schema: z.ZodType<T>, bytes: Uint8Array): Decoded<T> {
  const json = parseJson(bytes);
  return json.ok ? validate(schema, json.value) : json;
}

function parseJson(bytes: Uint8Array): Decoded<unknown> {
  try {
    return { ok: true, value: JSON.parse(utf8.decode(bytes)) };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

function validate<T>(schema: z.ZodType<T>, json: unknown): Decoded<T> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const [issue] = parsed.error.issues;
  const where = issue === undefined ? '' : issue.path.map(String).join('.');
  return { ok: false, reason: `${where === '' ? '' : `${where}: `}${issue?.message ?? 'invalid'}` };
}

export function decodeOperation(payload: Uint8Array): Decoded<RegistryOperation> {
  return parse(OperationSchema, payload);
}

export function decodeSnapshot(bytes: Uint8Array): Decoded<Snapshot> {
  const json = parseJson(bytes);
  if (!json.ok) return json;
  const format =
    typeof json.value === 'object' && json.value !== null && 'format' in json.value
      ? json.value.format
      : undefined;
  if (typeof format === 'number' && Number.isSafeInteger(format) && format > SNAPSHOT_FORMAT)
    return {
      ok: false,
      reason: `format ${format} is newer than this build's`,
      newerFormat: format,
    };
  const parsed = validate(SnapshotSchema, json.value);
  if (!parsed.ok) return parsed;
  const { generation, state } = parsed.value;
  const agents = new Map<string, AgentInfo>(state.agents.map((a) => [a.id.value, a]));
  const weights = new Map(state.weights.map((w) => [w.role, w.weight]));
  const quotas = new Map(state.quotas.map((q) => [q.role, q]));
  const unreachableAgents = new Map(state.unreachable_agents.map((u) => [u.id, u.since_sec]));
  const goneAgents = new Set(state.gone_agents);
  const frameworks = new Map(state.frameworks.map((f) => [f.info.id?.value ?? '', f]));
  const drainingAgents = new Map<string, AgentDrainInfo>(
    state.draining_agents.map((d) => [d.id, { state: d.state, config: d.config }]),
  );
  if (
    agents.size !== state.agents.length ||
    weights.size !== state.weights.length ||
    quotas.size !== state.quotas.length ||
    unreachableAgents.size !== state.unreachable_agents.length ||
    frameworks.size !== state.frameworks.length ||
    drainingAgents.size !== state.draining_agents.length
  ) {
    return { ok: false, reason: 'an agent id, framework id or role appears twice' };
  }
  return {
    ok: true,
    value: {
      generation,
      state: {
        agents,
        weights,
        quotas,
        unreachableAgents,
        goneAgents,
        frameworks,
        removedFrameworks: state.removed_frameworks,
        deactivatedAgents: new Set(state.deactivated_agents),
        drainingAgents,
        schedule: state.schedule,
        downMachines: state.down_machines,
      },
    },
  };
}

/** What one entry of a snapshot encodes to: its canonical JSON, kept per (immutable) entry. */
const encodedEntries = new WeakMap<object, string>();

export function encodedEntry(entry: object): string {
  let text = encodedEntries.get(entry);
  if (text === undefined) {
    text = canonicalJson(entry);
    encodedEntries.set(entry, text);
  }
  return text;
}

/** A piece of a snapshot's text and the key it stands for (chunk-set.ts cuts chunks by it). */
export interface SnapshotPiece {
  readonly text: string;
  readonly key: string;
}

/**
 * The reference the chunked registry's kept pieces (snapshot-pieces.ts) are checked
 * against, made from scratch:
 * encodeSnapshot(generation, state)'s text as pieces, one per entry of each
 * list (the JSON around them joined to the entry after it): joined, they are
 * exactly that text. An entry's text is computed once per entry object (states
 * share unchanged entries), so a state of 10,000 agents costs a sort and a
 * join per write, not 10,000 encodings.
 */
export function snapshotPieces(generation: number, state: RegistryState): SnapshotPiece[] {
  assert.ok(Number.isSafeInteger(generation) && generation >= 0, `bad generation ${generation}`);
  const sortedById = <T>(map: ReadonlyMap<string, T>) =>
    [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // In canonicalJson's order: keys sorted by code point.
  const lists: [string, [key: string, text: string][] | undefined, string?][] = [
    ['agents', sortedById(state.agents).map(([id, agent]) => [`a${id}`, encodedEntry(agent)])],
    [
      'deactivated_agents',
      [...state.deactivatedAgents].sort().map((id) => [`d${id}`, JSON.stringify(id)]),
    ],
    ['down_machines', undefined, canonicalJson(state.downMachines)],
    [
      'draining_agents',
      sortedById(state.drainingAgents).map(([id, drain]) => [
        `r${id}`,
        canonicalJson({ id, ...drain }),
      ]),
    ],
    [
      'frameworks',
      sortedById(state.frameworks).map(([id, framework]) => [`f${id}`, encodedEntry(framework)]),
    ],
    ['gone_agents', [...state.goneAgents].sort().map((id) => [`g${id}`, JSON.stringify(id)])],
    ['quotas', sortedById(state.quotas).map(([role, quota]) => [`q${role}`, encodedEntry(quota)])],
    ['removed_frameworks', undefined, canonicalJson(state.removedFrameworks)],
    ['schedule', undefined, canonicalJson(state.schedule)],
    [
      'unreachable_agents',
      sortedById(state.unreachableAgents).map(([id, since]) => [
        `u${id}`,
        canonicalJson({ id, since_sec: since }),
      ]),
    ],
    [
      'weights',
      sortedById(state.weights).map(([role, weight]) => [
        `w${role}`,
        canonicalJson({ role, weight }),
      ]),
    ],
  ];
  const pieces: SnapshotPiece[] = [];
  let glue = `{"format":${SNAPSHOT_FORMAT},"generation":${generation},"state":{`;
  for (const [i, [name, entries, whole]] of lists.entries()) {
    glue += `${i === 0 ? '' : ','}${JSON.stringify(name)}:`;
    if (entries === undefined) {
      glue += whole;
      continue;
    }
    glue += '[';
    for (const [j, [key, text]] of entries.entries()) {
      pieces.push({ key, text: `${glue}${j === 0 ? '' : ','}${text}` });
      glue = '';
    }
    glue += ']';
  }
  pieces.push({ key: '', text: `${glue}}}` });
  return pieces;
}

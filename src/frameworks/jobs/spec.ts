// Job and schedule specs: their shapes (Metronome's where it has one: `id`, `labels`, `run` with
// `cmd`/`args`/`cpus`/`mem`/`disk`/`gpus`/`env`/`artifacts`, schedules with `cron`, `timezone`,
// `startingDeadlineSeconds`, `concurrencyPolicy`), Kubernetes' Job fields for arrays
// (`completions`, `parallelism`, `activeDeadlineSeconds`, backoff) and Slurm's `--dependency`
// as `dependencies`. Validation names the field that is wrong, so the REST API can answer 422.
import { RE2JS } from 're2js';
import { z } from 'zod';
import { PLACEMENT_POLICIES, type PlacementPolicy } from '../../placement/index.js';
import { parseCron } from './cron.js';

/** Bounds on what one spec may hold: every input is bounded (STYLE). */
export const LIMITS = Object.freeze({
  maxCompletions: 100_000,
  maxRetries: 100,
  maxDependencies: 100,
  maxLabels: 64,
  maxEnv: 256,
  maxArtifacts: 32,
  maxArgs: 1024,
  maxConstraints: 32,
  maxStringLength: 4096,
  maxCmdLength: 64 * 1024,
  maxSchedules: 16,
  /** The longest `disconnect.lostAfterSeconds`: a week. */
  maxLostAfterSeconds: 7 * 86_400,
});

/**
 * What happens to a task whose agent the master reports unreachable (Nomad's `disconnect`
 * block, `lost_after` and `replace`; Kubernetes' 300 s toleration of an unreachable node
 * before its pods are replaced). Within `lostAfterSeconds` the task is only unreachable: it
 * still holds its index, and nothing is spent. After it, with `replace`, the index is launched
 * again elsewhere, without spending one of `maxRetries` (the task did not fail; its link did,
 * and a flaky link must not exhaust the retries of a job that never failed); if the agent
 * comes back the old task is killed once its replacement was launched, or adopted as the
 * index's task if none was. Without `replace` the index waits for its agent however long.
 */
export interface DisconnectPolicy {
  readonly lostAfterSeconds: number;
  readonly replace: boolean;
}

export const DEFAULT_DISCONNECT: DisconnectPolicy = Object.freeze({
  lostAfterSeconds: 300,
  replace: true,
});

/** A job's policy; jobs stored before the field existed get the default. */
export function disconnectOf(spec: JobSpec): DisconnectPolicy {
  return (spec as { readonly disconnect?: DisconnectPolicy }).disconnect ?? DEFAULT_DISCONNECT;
}

const disconnect = z
  .object({
    lostAfterSeconds: z
      .number()
      .int()
      .min(0)
      .max(LIMITS.maxLostAfterSeconds)
      .default(DEFAULT_DISCONNECT.lostAfterSeconds),
    replace: z.boolean().default(DEFAULT_DISCONNECT.replace),
  })
  .strict();

/** Job ids: lower-case DNS labels, so ids fit in task ids and URLs without escaping. */
export const JOB_ID_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

// A NUL byte cannot be passed to exec: refused here rather than failing every launch.
const text = z
  .string()
  .max(LIMITS.maxStringLength)
  .refine((s) => !s.includes('\0'), 'must not contain a NUL byte');
const id = z
  .string()
  .regex(JOB_ID_PATTERN, 'expected lower-case letters, digits and inner hyphens, 1 to 63 long');
const seconds = z.number().finite().nonnegative();

export type ConstraintOperator = 'IS' | 'LIKE' | 'UNLIKE';
export interface Constraint {
  readonly attribute: string;
  readonly operator: ConstraintOperator;
  readonly value: string;
}

/** `rack:r1` is shorthand for `{ attribute: rack, operator: IS, value: r1 }`. */
const constraint = z.preprocess(
  (input) => {
    if (typeof input !== 'string') return input;
    const at = input.indexOf(':');
    return at > 0 && at < input.length - 1
      ? { attribute: input.slice(0, at), operator: 'IS', value: input.slice(at + 1) }
      : input;
  },
  z
    .object(
      {
        attribute: text.min(1),
        operator: z.enum(['IS', 'EQ', 'LIKE', 'UNLIKE']).default('IS'),
        value: text,
      },
      { error: "expected 'attribute:value' or { attribute, operator, value }" },
    )
    .strict()
    .refine((c) => c.operator === 'IS' || c.operator === 'EQ' || isRe2(c.value), {
      message: 'expected a regular expression (RE2 syntax)',
      path: ['value'],
    })
    .transform(
      (c): Constraint => ({
        attribute: c.attribute,
        operator: c.operator === 'EQ' ? 'IS' : c.operator,
        value: c.value,
      }),
    ),
);

const artifact = z
  .object({
    uri: text.min(1),
    executable: z.boolean().optional(),
    extract: z.boolean().optional(),
    cache: z.boolean().optional(),
  })
  .strict();

/** Metronome's `run.docker` (image, forcePullImage), plus the container's network. */
const docker = z
  .object({
    image: z.string().min(1).max(512),
    forcePullImage: z.boolean().default(false),
    network: z.enum(['HOST', 'BRIDGE', 'NONE']).default('HOST'),
  })
  .strict();

const runSpec = z
  .object({
    cmd: z
      .string()
      .min(1)
      .max(LIMITS.maxCmdLength)
      .refine((s) => !s.includes('\0'), 'must not contain a NUL byte')
      .optional(),
    args: z.array(text).min(1).max(LIMITS.maxArgs).optional(),
    // Mesos keeps scalars to 0.001: less would be a task with no CPU at all.
    cpus: z.number().finite().min(0.001).max(1024).default(0.1),
    mem: z
      .number()
      .finite()
      .positive()
      .max(16 * 1024 * 1024)
      .default(32),
    disk: z
      .number()
      .finite()
      .nonnegative()
      .max(1024 * 1024 * 1024)
      .default(0),
    gpus: z.number().int().nonnegative().max(64).default(0),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment name'), text)
      .default({}),
    artifacts: z.array(artifact).max(LIMITS.maxArtifacts).default([]),
    docker: docker.optional(),
    // Mesos' role names (as the services framework checks them): '../etc' waited forever.
    role: z
      .string()
      .max(256)
      .regex(/^[a-zA-Z0-9_][a-zA-Z0-9_.\-/]*$/, 'not a valid role name')
      .optional(),
    user: z.string().max(256).optional(),
    // Metronome's restart policy: NEVER is maxRetries 0, ON_FAILURE retries (up to maxRetries,
    // LIMITS.maxRetries when not given). Its activeDeadlineSeconds (retry only within that long
    // of the run's start) is not implemented, so it is refused rather than ignored.
    restart: z
      .object({
        policy: z.enum(['NEVER', 'ON_FAILURE']),
        activeDeadlineSeconds: z
          .unknown()
          .refine((v) => v === undefined, {
            message:
              'not supported: retries are bounded by maxRetries; activeDeadlineSeconds at the top level bounds the whole run',
          })
          .optional(),
      })
      .strict()
      .optional(),
    /** Metronome's: seconds a run may wait for every index to launch before it fails. */
    maxLaunchDelay: z
      .number()
      .int()
      .min(1)
      .max(365 * 86_400)
      .optional(),
    // Metronome's place for constraints: merged into the job's `placement.constraints`.
    placement: z
      .object({ constraints: z.array(constraint).max(LIMITS.maxConstraints).default([]) })
      .strict()
      .optional(),
  })
  .strict()
  .refine((r) => (r.cmd === undefined) !== (r.args === undefined), {
    message: 'expected exactly one of cmd and args',
    path: ['cmd'],
  })
  .refine((r) => Object.keys(r.env).length <= LIMITS.maxEnv, {
    message: `at most ${LIMITS.maxEnv} variables`,
    path: ['env'],
  });

const placement = z
  .object({
    policy: z
      .enum(PLACEMENT_POLICIES as [PlacementPolicy, ...PlacementPolicy[]])
      .default('min-delay'),
    constraints: z.array(constraint).max(LIMITS.maxConstraints).default([]),
  })
  .strict();

const jobSpec = z
  .object({
    id,
    description: text.optional(),
    labels: z.record(z.string().max(256), z.string().max(LIMITS.maxStringLength)).default({}),
    run: runSpec,
    completions: z.number().int().min(1).max(LIMITS.maxCompletions).default(1),
    parallelism: z.number().int().min(1).max(LIMITS.maxCompletions).optional(),
    // Default 3, or what `run.restart` says (filled in by parseJobSpec).
    maxRetries: z.number().int().min(0).max(LIMITS.maxRetries).optional(),
    backoffSeconds: seconds.max(3600).default(1),
    maxBackoffSeconds: seconds.max(86_400).default(60),
    activeDeadlineSeconds: z
      .number()
      .finite()
      .positive()
      .max(365 * 86_400)
      .optional(),
    dependencies: z.array(id).max(LIMITS.maxDependencies).default([]),
    placement: placement.default({ policy: 'min-delay', constraints: [] }),
    disconnect: disconnect.default({ ...DEFAULT_DISCONNECT }),
  })
  .strict()
  .refine((j) => Object.keys(j.labels).length <= LIMITS.maxLabels, {
    message: `at most ${LIMITS.maxLabels} labels`,
    path: ['labels'],
  })
  .refine((j) => !j.dependencies.includes(j.id), {
    message: 'a job cannot depend on itself',
    path: ['dependencies'],
  })
  .refine((j) => j.run.restart?.policy !== 'NEVER' || (j.maxRetries ?? 0) === 0, {
    message: 'NEVER contradicts maxRetries above 0',
    path: ['run', 'restart', 'policy'],
  })
  .refine(
    (j) =>
      j.placement.constraints.length + (j.run.placement?.constraints.length ?? 0) <=
      LIMITS.maxConstraints,
    { message: `at most ${LIMITS.maxConstraints} constraints`, path: ['run', 'placement'] },
  );

type ParsedJob = z.output<typeof jobSpec>;
/**
 * A valid job, defaults filled in; `parallelism` and `maxRetries` are always set, and
 * `run.placement`'s constraints are in `placement.constraints`.
 */
export type JobSpec = Readonly<
  Omit<ParsedJob, 'parallelism' | 'maxRetries' | 'run'> & {
    readonly parallelism: number;
    readonly maxRetries: number;
    readonly run: Omit<ParsedJob['run'], 'placement'>;
  }
>;
export type RunSpec = JobSpec['run'];
const DEFAULT_MAX_RETRIES = 3;

export type ConcurrencyPolicy = 'ALLOW' | 'FORBID' | 'REPLACE';

const scheduleSpec = z
  .object({
    id,
    cron: z
      .string()
      .max(256)
      .superRefine((value, ctx) => {
        const parsed = parseCron(value);
        if (parsed.kind === 'error') ctx.addIssue({ code: 'custom', message: parsed.message });
      }),
    timezone: z
      .string()
      .max(64)
      .default('UTC')
      .refine(isTimeZone, { message: 'expected an IANA time zone, e.g. Europe/Berlin' }),
    startingDeadlineSeconds: z.number().int().positive().max(86_400).default(900),
    concurrencyPolicy: z.enum(['ALLOW', 'FORBID', 'REPLACE']).default('ALLOW'),
    enabled: z.boolean().default(true),
    successfulHistoryLimit: z.number().int().min(0).max(1000).default(3),
    failedHistoryLimit: z.number().int().min(0).max(1000).default(1),
  })
  .strict();
export type ScheduleSpec = Readonly<z.output<typeof scheduleSpec>>;

/** A spec refused: `field` is the path of what is wrong (`run.cpus`, `dependencies[0]`). */
export interface SpecError {
  readonly kind: 'error';
  readonly field: string;
  readonly message: string;
}
export type Parsed<T> = { readonly kind: 'ok'; readonly value: T } | SpecError;

export function parseJobSpec(input: unknown): Parsed<JobSpec> {
  const parsed = parseJobSubmission(input);
  if (parsed.kind === 'error') return parsed;
  if (parsed.value.schedules.length > 0)
    return {
      kind: 'error',
      field: 'schedules',
      message: "only a new job's schedules are given here: change them at /v1/jobs/<id>/schedules",
    };
  return { kind: 'ok', value: parsed.value.job };
}

/**
 * A POST /v1/jobs body: the job and, as Metronome's job JSON may hold them, its `schedules`
 * (created with the job).
 */
export function parseJobSubmission(
  input: unknown,
): Parsed<{ readonly job: JobSpec; readonly schedules: readonly ScheduleSpec[] }> {
  const { schedules: rawSchedules, rest } = splitSchedules(input);
  const result = jobSpec.safeParse(rest);
  if (!result.success) return firstIssue(result.error);
  const schedules: ScheduleSpec[] = [];
  if (rawSchedules !== undefined) {
    if (!Array.isArray(rawSchedules) || rawSchedules.length > LIMITS.maxSchedules)
      return {
        kind: 'error',
        field: 'schedules',
        message: `expected an array of at most ${LIMITS.maxSchedules} schedules`,
      };
    for (const [i, raw] of rawSchedules.entries()) {
      const schedule = parseScheduleSpec(raw);
      if (schedule.kind === 'error')
        return { ...schedule, field: joinField(`schedules[${i}]`, schedule.field) };
      if (schedules.some((s) => s.id === schedule.value.id))
        return { kind: 'error', field: `schedules[${i}].id`, message: 'a duplicate id' };
      schedules.push(schedule.value);
    }
  }
  const { placement: runPlacement, ...run } = result.data.run;
  const job: JobSpec = {
    ...result.data,
    run,
    parallelism: result.data.parallelism ?? result.data.completions,
    maxRetries:
      result.data.maxRetries ??
      (run.restart === undefined
        ? DEFAULT_MAX_RETRIES
        : run.restart.policy === 'NEVER'
          ? 0
          : LIMITS.maxRetries),
    placement: {
      ...result.data.placement,
      constraints: [...result.data.placement.constraints, ...(runPlacement?.constraints ?? [])],
    },
  };
  return { kind: 'ok', value: { job, schedules } };
}

function splitSchedules(input: unknown): { schedules: unknown; rest: unknown } {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { schedules: undefined, rest: input };
  const { schedules, ...rest } = input as Record<string, unknown>;
  return { schedules, rest };
}

function joinField(prefix: string, field: string): string {
  if (field === '') return prefix;
  return field.startsWith('[') ? `${prefix}${field}` : `${prefix}.${field}`;
}

export function parseScheduleSpec(input: unknown): Parsed<ScheduleSpec> {
  const result = scheduleSpec.safeParse(input);
  return result.success ? { kind: 'ok', value: result.data } : firstIssue(result.error);
}

function firstIssue(error: z.ZodError): SpecError {
  const [issue] = error.issues;
  if (issue === undefined) return { kind: 'error', field: '', message: 'invalid' };
  // An unknown key is the field at fault: name it, not the object holding it.
  const path =
    issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined
      ? [...issue.path, issue.keys[0]]
      : issue.path;
  const field = path.reduce<string>(
    (path, key) =>
      typeof key === 'number'
        ? `${path}[${key}]`
        : path === ''
          ? String(key)
          : `${path}.${String(key)}`,
    '',
  );
  if (issue.code === 'unrecognized_keys')
    return {
      kind: 'error',
      field,
      message: `unknown field${issue.keys.length > 1 ? `s ${issue.keys.join(', ')}` : ''}`,
    };
  return { kind: 'error', field, message: issue.message };
}

function isRe2(pattern: string): boolean {
  try {
    RE2JS.compile(pattern);
    return true;
  } catch {
    return false;
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * `0-999`, `1,3,5-7` or `0-99%10` (Slurm's `--array`, `%` capping how many run at once) as the
 * completions and parallelism of a job whose indices run from 0. Agora's indices are always
 * 0..completions-1; a range not starting at 0 is refused rather than renumbered silently.
 */
export function parseArrayRange(
  range: string,
): Parsed<{ readonly completions: number; readonly parallelism?: number }> {
  const match = /^(\d+)-(\d+)(?:%(\d+))?$/.exec(range.trim());
  if (match === null)
    return { kind: 'error', field: 'array', message: `expected 0-N or 0-N%P, got '${range}'` };
  const [, from, to, cap] = match;
  if (Number(from) !== 0)
    return { kind: 'error', field: 'array', message: 'indices start at 0 (0-N)' };
  const completions = Number(to) + 1;
  if (completions > LIMITS.maxCompletions)
    return {
      kind: 'error',
      field: 'array',
      message: `at most ${LIMITS.maxCompletions} indices`,
    };
  return {
    kind: 'ok',
    value: { completions, ...(cap !== undefined ? { parallelism: Math.max(1, Number(cap)) } : {}) },
  };
}

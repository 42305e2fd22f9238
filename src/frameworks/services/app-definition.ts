// Marathon's app definition (the commonly used fields; Marathon's
// docs/docs/application-basics.md, health-checks.md, constraints.md) and its
// validation. Bad input is answered as Marathon answers it: 422 with
// { message: "Object is not valid", details: [{ path: "/healthChecks(0)/portIndex", errors: [...] }] }.
// Pure: no I/O.
import { RE2JS } from 're2js';
import { z } from 'zod';
import { containerIssues, containerSchema, type MarathonContainer } from './container.js';
import { type FetchUri, fetchUriSchema } from './fetch.js';
import { labelsSchema } from './labels.js';
import { HOST_NETWORKS, type Network, networkSchema, portIssues } from './networks.js';
import {
  DEFAULT_UNREACHABLE_STRATEGY,
  MAX_UNREACHABLE_SECONDS,
  type UnreachableStrategy,
  unreachableStrategySchema,
} from './unreachable-strategy.js';
import { unsupportedFields } from './unsupported-fields.js';

export { DEFAULT_UNREACHABLE_STRATEGY, type UnreachableStrategy };

/** Bounds: every list and text a user sends is capped (house rule: sizes, depths, counts). */
export const LIMITS = {
  idChars: 255,
  instances: 10_000,
  cmdChars: 64 * 1024,
  args: 1000,
  argChars: 8 * 1024,
  envEntries: 1000,
  envValueChars: 32 * 1024,
  constraints: 100,
  portDefinitions: 100,
  dependencies: 100,
  uris: 100,
  /** Mesos runs one health check per task (TaskInfo.health_check). */
  healthChecks: 1,
  /** Marathon allows one readiness check per app. */
  readinessChecks: 1,
  /** Nesting of any JSON body. */
  jsonDepth: 32,
  /** The longest unreachableStrategy wait: a year. */
  unreachableSeconds: MAX_UNREACHABLE_SECONDS,
} as const;

const SEGMENT = /^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;

export type ConstraintOperator = 'UNIQUE' | 'CLUSTER' | 'GROUP_BY' | 'LIKE' | 'UNLIKE' | 'MAX_PER';
export type Constraint = readonly [field: string, operator: ConstraintOperator, value?: string];

export type HealthProtocol =
  | 'HTTP'
  | 'HTTPS'
  | 'TCP'
  | 'COMMAND'
  | 'MESOS_HTTP'
  | 'MESOS_HTTPS'
  | 'MESOS_TCP';

export interface HealthCheckDefinition {
  readonly protocol: HealthProtocol;
  readonly path?: string;
  readonly portIndex?: number;
  readonly port?: number;
  readonly command?: { readonly value: string };
  readonly gracePeriodSeconds: number;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly maxConsecutiveFailures: number;
  readonly delaySeconds: number;
}

/**
 * Marathon's readiness check (docs/docs/readiness-checks.md): run by the
 * framework, not the agent, on new instances during a deployment only; an
 * instance counts toward the deployment once an answer's status is in
 * httpStatusCodesForReady.
 */
export interface ReadinessCheckDefinition {
  readonly name: string;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly path: string;
  readonly portName: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly httpStatusCodesForReady: readonly number[];
  readonly preserveLastResponse: boolean;
}

export interface PortDefinition {
  readonly port: number;
  readonly name?: string;
  readonly protocol: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** An app as stored and served (Marathon's JSON names, camelCase as Marathon has them). */
export interface AppDefinition {
  readonly id: string;
  readonly cmd?: string;
  readonly args?: readonly string[];
  readonly user?: string;
  readonly container?: MarathonContainer;
  readonly cpus: number;
  readonly mem: number;
  readonly disk: number;
  readonly gpus: number;
  readonly instances: number;
  readonly portDefinitions: readonly PortDefinition[];
  readonly requirePorts: boolean;
  /** Marathon 1.5's networking: `[{mode: 'host'}]` unless the app asks for another. */
  readonly networks: readonly Network[];
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly constraints: readonly Constraint[];
  readonly healthChecks: readonly HealthCheckDefinition[];
  readonly readinessChecks: readonly ReadinessCheckDefinition[];
  readonly upgradeStrategy: {
    readonly minimumHealthCapacity: number;
    readonly maximumOverCapacity: number;
  };
  readonly backoffSeconds: number;
  readonly backoffFactor: number;
  readonly maxLaunchDelaySeconds: number;
  readonly killSelection: 'YOUNGEST_FIRST' | 'OLDEST_FIRST';
  /** What happens to an instance whose agent is unreachable (configure-task-handling.md). */
  readonly unreachableStrategy: UnreachableStrategy;
  readonly role?: string;
  readonly dependencies: readonly string[];
  readonly uris: readonly string[];
  /** Marathon's newer form of `uris`; absent when not given. */
  readonly fetch?: readonly FetchUri[];
}

export interface ValidationDetail {
  readonly path: string;
  readonly errors: readonly string[];
}

/** Marathon's 422 body. */
export interface ValidationFailure {
  readonly message: string;
  readonly details: readonly ValidationDetail[];
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly failure: ValidationFailure };

/** What becomes a process's command line or environment: a NUL byte cannot be passed to exec. */
const execText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes('\0'), 'must not contain a NUL byte');

const healthCheckSchema = z
  .object({
    protocol: z
      .enum(['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'])
      .default('HTTP'),
    path: z.string().max(1024).startsWith('/').optional(),
    portIndex: z.number().int().min(0).max(LIMITS.portDefinitions).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    command: z.object({ value: z.string().min(1).max(LIMITS.cmdChars) }).optional(),
    gracePeriodSeconds: z.number().int().min(0).max(86_400).default(300),
    intervalSeconds: z.number().int().min(1).max(86_400).default(60),
    timeoutSeconds: z.number().int().min(1).max(86_400).default(20),
    maxConsecutiveFailures: z.number().int().min(0).max(1000).default(3),
    delaySeconds: z.number().int().min(0).max(86_400).default(15),
  })
  .superRefine((check, ctx) => {
    const isCommand = check.protocol === 'COMMAND';
    if (isCommand && check.command === undefined)
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'required for COMMAND checks' });
    if (!isCommand && check.command !== undefined)
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'only COMMAND checks run one' });
    if (check.timeoutSeconds >= check.intervalSeconds)
      ctx.addIssue({
        code: 'custom',
        path: ['timeoutSeconds'],
        message: 'must be less than intervalSeconds',
      });
    if (!isCommand && check.portIndex !== undefined && check.port !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['port'],
        message: 'give portIndex or port, not both',
      });
  });

const constraintSchema = z
  .array(z.string().max(1024))
  .min(2, 'a constraint is [field, operator] or [field, operator, value]')
  .max(3, 'a constraint is [field, operator] or [field, operator, value]')
  .superRefine((c, ctx) => {
    const [field, operator, value] = c;
    if (field === undefined || field.length === 0)
      ctx.addIssue({ code: 'custom', path: [0], message: 'the field must not be empty' });
    const needsValue = operator === 'LIKE' || operator === 'UNLIKE' || operator === 'MAX_PER';
    switch (operator) {
      case 'UNIQUE':
        if (value !== undefined)
          ctx.addIssue({ code: 'custom', path: [2], message: 'UNIQUE takes no value' });
        return;
      case 'CLUSTER':
        return;
      case 'GROUP_BY':
      case 'MAX_PER':
        if (value === undefined && !needsValue) return;
        if (value === undefined || !/^[1-9]\d{0,5}$/.test(value))
          ctx.addIssue({
            code: 'custom',
            path: [2],
            message: `${operator} takes a positive integer`,
          });
        return;
      case 'LIKE':
      case 'UNLIKE':
        if (value === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [2],
            message: `${operator} takes a regular expression`,
          });
          return;
        }
        try {
          RE2JS.compile(value);
        } catch {
          ctx.addIssue({
            code: 'custom',
            path: [2],
            message: `'${value}' is not a valid regular expression`,
          });
        }
        return;
      default:
        ctx.addIssue({
          code: 'custom',
          path: [1],
          message: `unknown operator '${operator}': UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE or MAX_PER`,
        });
    }
  });

const readinessCheckSchema = z
  .object({
    name: z.string().min(1).max(255).default('readinessCheck'),
    protocol: z.enum(['HTTP', 'HTTPS']).default('HTTP'),
    path: z.string().max(1024).startsWith('/').default('/'),
    portName: z.string().min(1).max(63).default('http-api'),
    intervalSeconds: z.number().int().min(1).max(86_400).default(30),
    timeoutSeconds: z.number().int().min(1).max(86_400).default(10),
    httpStatusCodesForReady: z
      .array(z.number().int().min(100).max(599))
      .min(1)
      .max(100)
      .default([200]),
    preserveLastResponse: z.boolean().default(false),
  })
  .superRefine((check, ctx) => {
    if (check.timeoutSeconds >= check.intervalSeconds)
      ctx.addIssue({
        code: 'custom',
        path: ['timeoutSeconds'],
        message: 'must be less than intervalSeconds',
      });
  });

const portDefinitionSchema = z.object({
  port: z.number().int().min(0).max(65535),
  name: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes')
    .max(63)
    .optional(),
  protocol: z.enum(['tcp', 'udp', 'udp,tcp', 'tcp,udp']).default('tcp'),
  labels: labelsSchema.optional(),
});

/** The body of POST /v2/apps and PUT /v2/apps/<id> (id optional there: it comes from the URL). */
export const appSchema = z
  .object({
    id: z.string().min(1).max(LIMITS.idChars),
    cmd: execText(LIMITS.cmdChars).min(1).optional(),
    args: z.array(execText(LIMITS.argChars)).max(LIMITS.args).optional(),
    user: z.string().min(1).max(255).optional(),
    container: containerSchema.optional(),
    cpus: z.number().min(0.001).max(1_000_000).default(1),
    mem: z.number().min(0).max(1e9).default(128),
    disk: z.number().min(0).max(1e12).default(0),
    gpus: z.number().int().min(0).max(1024).default(0),
    instances: z.number().int().min(0).max(LIMITS.instances).default(1),
    ports: z.array(z.number().int().min(0).max(65535)).max(LIMITS.portDefinitions).optional(),
    portDefinitions: z.array(portDefinitionSchema).max(LIMITS.portDefinitions).optional(),
    requirePorts: z.boolean().default(false),
    networks: z.array(networkSchema).max(16).optional(),
    env: z
      .record(
        z
          .string()
          .min(1)
          .max(255)
          .regex(/^[^=\0]+$/, "no '=' or NUL in a variable's name"),
        execText(LIMITS.envValueChars),
      )
      .refine(
        (r) => Object.keys(r).length <= LIMITS.envEntries,
        `at most ${LIMITS.envEntries} variables`,
      )
      .default({}),
    labels: labelsSchema.default({}),
    constraints: z.array(constraintSchema).max(LIMITS.constraints).default([]),
    healthChecks: z
      .array(healthCheckSchema)
      .max(LIMITS.healthChecks, 'at most one health check: Mesos runs one per task')
      .default([]),
    readinessChecks: z
      .array(readinessCheckSchema)
      .max(LIMITS.readinessChecks, 'at most one readiness check per app, as in Marathon')
      .default([]),
    upgradeStrategy: z
      .object({
        minimumHealthCapacity: z.number().min(0).max(1).default(1),
        maximumOverCapacity: z.number().min(0).max(1).default(1),
      })
      .default({ minimumHealthCapacity: 1, maximumOverCapacity: 1 }),
    backoffSeconds: z.number().min(0).max(86_400).default(1),
    backoffFactor: z.number().min(1).max(100).default(1.15),
    maxLaunchDelaySeconds: z.number().min(0).max(86_400).default(300),
    killSelection: z.enum(['YOUNGEST_FIRST', 'OLDEST_FIRST']).default('YOUNGEST_FIRST'),
    unreachableStrategy: unreachableStrategySchema.default(DEFAULT_UNREACHABLE_STRATEGY),
    role: z
      .string()
      .regex(/^[a-zA-Z0-9_][a-zA-Z0-9_.\-/]*$/, 'not a valid role name')
      .max(255)
      .optional(),
    dependencies: z
      .array(z.string().min(1).max(LIMITS.idChars))
      .max(LIMITS.dependencies)
      .default([]),
    uris: z.array(z.string().min(1).max(4096)).max(LIMITS.uris).default([]),
    fetch: z.array(fetchUriSchema).max(LIMITS.uris).optional(),
  })
  .superRefine((app, ctx) => {
    if (app.cmd === undefined && app.args === undefined && app.container === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'",
      });
    if (app.cmd !== undefined && app.args !== undefined)
      ctx.addIssue({ code: 'custom', path: ['args'], message: 'give cmd or args, not both' });
    if (app.uris.length > 0 && (app.fetch?.length ?? 0) > 0)
      ctx.addIssue({ code: 'custom', path: ['fetch'], message: 'give uris or fetch, not both' });
    if (app.ports !== undefined && app.portDefinitions !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['ports'],
        message: 'give ports or portDefinitions, not both',
      });
    const idError = appIdError(app.id);
    if (idError !== undefined) ctx.addIssue({ code: 'custom', path: ['id'], message: idError });
    for (const issue of containerIssues(app)) ctx.addIssue({ code: 'custom', ...issue });
    for (const issue of portIssues(app)) ctx.addIssue({ code: 'custom', ...issue });
    for (const [i, dependency] of app.dependencies.entries())
      if (appIdError(normalizeAppId(dependency, app.id)) !== undefined)
        ctx.addIssue({ code: 'custom', path: ['dependencies', i], message: 'not a valid app id' });
  });

/** Why `id` (absolute, normalized) is not a valid app id, or undefined. */
export function appIdError(id: string): string | undefined {
  if (!id.startsWith('/') || id === '/') return 'must name an app: /name or /group/name';
  if (id.length > LIMITS.idChars) return `at most ${LIMITS.idChars} characters`;
  for (const segment of id.slice(1).split('/'))
    if (!SEGMENT.test(segment))
      return `'${segment}': path segments are lowercase letters, digits, dashes and dots, starting and ending with a letter or digit`;
  return undefined;
}

/** `web` → `/web`; `../api` relative to `/team/web` → `/api`; trailing slashes dropped. */
export function normalizeAppId(id: string, base = '/'): string {
  const parts = id.startsWith('/') ? [] : base.split('/').filter(Boolean).slice(0, -1);
  for (const part of id.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** `/healthChecks(0)/portIndex`, as Marathon names a field. */
export function marathonPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `(${key})` : `/${String(key)}`;
  return text === '' ? '/' : text;
}

export function failureOf(error: z.ZodError): ValidationFailure {
  const byPath = new Map<string, string[]>();
  for (const issue of error.issues.slice(0, 100)) {
    const path = marathonPath(issue.path);
    byPath.set(path, [...(byPath.get(path) ?? []), issue.message]);
  }
  return {
    message: 'Object is not valid',
    details: [...byPath].map(([path, errors]) => ({ path, errors })),
  };
}

export function invalid(path: string, error: string): ValidationFailure {
  return { message: 'Object is not valid', details: [{ path, errors: [error] }] };
}

/** Depth of a parsed JSON value (a scalar is 0). */
export function jsonDepth(value: unknown, limit: number = LIMITS.jsonDepth + 1): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (limit <= 0) return 1;
  let deepest = 0;
  for (const child of Object.values(value))
    deepest = Math.max(deepest, jsonDepth(child, limit - 1));
  return deepest + 1;
}

/**
 * Parses an app definition from a request body. `idFromUrl` (PUT /v2/apps/<id>)
 * fills in or must match the body's id.
 */
export function parseApp(body: unknown, idFromUrl?: string): Parsed<AppDefinition> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, failure: invalid('/', 'an app definition is a JSON object') };
  if (jsonDepth(body) > LIMITS.jsonDepth)
    return { ok: false, failure: invalid('/', `nested deeper than ${LIMITS.jsonDepth} levels`) };
  const record = body as Record<string, unknown>;
  const rawId = record.id ?? idFromUrl;
  const withId =
    typeof rawId === 'string' ? { ...record, id: normalizeAppId(rawId) } : { ...record, id: rawId };
  if (
    idFromUrl !== undefined &&
    typeof record.id === 'string' &&
    normalizeAppId(record.id) !== idFromUrl
  )
    return {
      ok: false,
      failure: invalid('/id', `the body's id differs from the URL's ${idFromUrl}`),
    };
  const unsupported = unsupportedFields(record);
  if (unsupported.length > 0)
    return { ok: false, failure: { message: 'Object is not valid', details: unsupported } };
  const parsed = appSchema.safeParse(withId);
  if (!parsed.success) return { ok: false, failure: failureOf(parsed.error) };
  const { ports, portDefinitions, networks, ...rest } = parsed.data;
  const app: AppDefinition = {
    ...rest,
    networks: networks ?? HOST_NETWORKS,
    dependencies: rest.dependencies.map((d) => normalizeAppId(d, rest.id)),
    portDefinitions: portDefinitions ?? (ports ?? []).map((port) => ({ port, protocol: 'tcp' })),
    constraints: rest.constraints as unknown as Constraint[],
  };
  return { ok: true, value: app };
}

/** True when two definitions differ in more than the instance count (a new config, a rolling deploy). */
export function isConfigChange(a: AppDefinition, b: AppDefinition): boolean {
  // The unreachable strategy changes what the framework does, not what the task runs.
  const { unreachableStrategy: _a, ...restA } = a;
  const { unreachableStrategy: _b, ...restB } = b;
  return JSON.stringify({ ...restA, instances: 0 }) !== JSON.stringify({ ...restB, instances: 0 });
}

/** Marathon's task name and Mesos-DNS's label for an app: `/team/web` → `web-team`. */
export function dnsLabelOf(appId: string): string {
  return appId
    .split('/')
    .filter(Boolean)
    .reverse()
    .join('-')
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63)
    .replace(/-+$/, '');
}

// The jobs framework's REST API (Metronome's paths and shapes where it has them):
//   GET/POST /v1/jobs, GET/PUT/DELETE /v1/jobs/<id>,
//   GET/POST /v1/jobs/<id>/runs, GET /v1/jobs/<id>/runs/<run>, POST …/runs/<run>/actions/stop,
//   GET …/runs/<run>/logs?index=&file=&offset=&length= (from the agent's /files),
//   GET/POST /v1/jobs/<id>/schedules, GET/PUT/DELETE /v1/jobs/<id>/schedules/<sid>,
//   GET /v1/info, GET /health.
// Bodies are JSON or YAML, at most 1 MiB; a spec that is not valid is answered 422 (as
// Metronome does) `{ message, field, details: [{ path, errors }] }`: `field` for Agora's CLI,
// `details` in Metronome's shape; a body that cannot be read is 400.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getJson, MAX_READ_BYTES, readFile, sandboxPath } from '../../sdk/index.js';
import { exceedsJsonDepth, limits } from '../../wire/index.js';
import { type AgentView, type RoleView, whyWaiting } from '../waiting.js';
import { demandOf, isFinished, JobsError, type Run } from './core.js';
import type { JobsFramework } from './framework.js';
import {
  type JobSpec,
  parseJobSpec,
  parseJobSubmission,
  parseScheduleSpec,
  type SpecError,
} from './spec.js';
import { jobView, runView, scheduleView, taskViews } from './views.js';
import { parseYaml } from './yaml.js';

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_URL_LENGTH = 4096;
const MAX_TASKS_LISTED = 10_000;
const TASK_FILTERS = new Set([
  'all',
  'waiting',
  'staging',
  'running',
  'succeeded',
  'failed',
  'cancelled',
]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * A client gets 20 s for its headers and 60 s for its whole request (Node's defaults, 60 s
 * and 300 s, let a slow client hold a socket for minutes); answers are not timed.
 */
const SERVER_TIMEOUTS = {
  headersTimeout: 20_000,
  requestTimeout: 60_000,
  connectionsCheckingInterval: 1000,
} as const;

export function createJobsServer(framework: JobsFramework): Server {
  return createServer(SERVER_TIMEOUTS, (req, res) => {
    handle(framework, req, res).catch((error: unknown) => {
      if (error instanceof HttpError)
        return reply(res, error.status, errorBody(error.message, error.field));
      if (error instanceof JobsError)
        return reply(res, error.status, errorBody(error.message, error.field));
      reply(res, 500, errorBody(`internal error: ${(error as Error).message}`));
    });
  });
}

/**
 * `field` (`run.cpus`) for Agora's CLI; `details` as Metronome lists what is wrong, its path
 * a JSON path (`/run/cpus`).
 */
function errorBody(message: string, field?: string): unknown {
  if (field === undefined) return { message };
  const path = `/${field
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .join('/')}`;
  return { message, field, details: [{ path, errors: [message] }] };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Metronome's liveness probe: `pong` as plain text. */
function pong(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 4 });
  res.end('pong');
}

/**
 * Metronome's `embed` values (repeated or comma-separated), plus Agora's `latestRun`, which
 * `agora jobs show` reads. Metronome refuses an unknown one rather than ignoring it, so a typo
 * in a client is seen, not answered with less than it asked for.
 */
const EMBEDS = ['activeRuns', 'schedules', 'history', 'historySummary', 'latestRun'] as const;

function embedsOf(url: URL): ReadonlySet<string> {
  const asked = url.searchParams.getAll('embed').flatMap((e) => e.split(','));
  const unknown = asked.find((e) => !(EMBEDS as readonly string[]).includes(e));
  if (unknown !== undefined)
    throw new HttpError(
      400,
      `embed: unknown option '${unknown.slice(0, 64)}'; valid options are ${EMBEDS.join(', ')}`,
    );
  return new Set(asked);
}

/** How long DELETE ?stopCurrentJobRuns=true waits for the stopped runs' tasks to end. */
const STOP_WAIT_MS = 30_000;

/**
 * Metronome's DELETE /v1/jobs/<id>?stopCurrentJobRuns=true: stops the job's active runs and
 * waits (bounded) until their tasks are gone, so the job can then be deleted.
 */
async function stopActiveRuns(framework: JobsFramework, jobId: string): Promise<void> {
  const core = framework.core;
  // deleteJob answers a missing job (404) and one others depend on (409): nothing is stopped.
  if (core.getJob(jobId) === undefined) return;
  if (core.listJobs().some((job) => job.spec.dependencies.includes(jobId))) return;
  const active = () => core.runsOf(jobId).filter((run) => !isFinished(run));
  const deadline = performance.now() + STOP_WAIT_MS;
  // Stopped again each round: a schedule may start a run while the first ones stop.
  for (let runs = active(); runs.length > 0; runs = active()) {
    if (performance.now() > deadline)
      throw new HttpError(409, `job '${jobId}' has runs still stopping: try again`);
    for (const run of runs)
      core.stopRun(jobId, run.meta.id, 'stopped: the job was deleted', Date.now());
    await framework.changed();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A path segment, %-decoded; a malformed escape (`%ff`) is the client's fault. */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(
      400,
      `the path segment '${part.slice(0, 64)}' is not valid %-encoding`,
      'path',
    );
  }
}

async function handle(
  framework: JobsFramework,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const rawUrl = req.url ?? '/';
  if (rawUrl.length > MAX_URL_LENGTH)
    throw new HttpError(414, `URL longer than ${MAX_URL_LENGTH} bytes`);
  const url = new URL(rawUrl, 'http://localhost');
  const parts = url.pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodePart);
  const method = req.method ?? 'GET';
  const core = framework.core;
  const now = Date.now();
  const embed = embedsOf(url);
  const ok = (body: unknown, status = 200) => reply(res, status, body);
  const route = `${method} /${parts.map((p, i) => (i >= 2 && i % 2 === 0 ? ':' : p)).join('/')}`;

  if (method === 'GET' && url.pathname === '/health') return ok({ healthy: true });
  if (method === 'GET' && url.pathname === '/ping') return pong(res);
  if (parts[0] !== 'v1') throw new HttpError(404, `no route ${method} ${url.pathname}`);
  if (method === 'GET' && parts[1] === 'info' && parts.length === 2)
    return ok({ frameworkId: framework.id, master: framework.masterUrl?.href });
  if (parts[1] !== 'jobs') throw new HttpError(404, `no route ${method} ${url.pathname}`);
  const [, , jobId, sub, subId, action, verb] = parts;

  switch (route) {
    case 'GET /v1/jobs':
      return ok(core.listJobs().map((job) => jobView(job, core, embed)));
    case 'POST /v1/jobs': {
      const submitted = specOrThrow(parseJobSubmission(await body(req)));
      const spec = withRole(framework, submitted.job);
      const schedules = submitted.schedules;
      const job = core.putJob(spec, now, true);
      for (const schedule of schedules) core.putSchedule(spec.id, schedule, now, true);
      await framework.changed();
      return ok(jobView(job, core, embed), 201);
    }
  }
  if (jobId === undefined) throw new HttpError(404, `no route ${method} ${url.pathname}`);
  if (sub === undefined) {
    if (method === 'GET') {
      const job = core.getJob(jobId);
      if (job === undefined) throw new HttpError(404, `no job '${jobId}'`);
      const view = jobView(job, core, embed) as { latestRun?: Record<string, unknown> };
      const latest = core.runsOf(jobId).at(-1);
      if (view.latestRun !== undefined && latest !== undefined) {
        const cluster = await clusterSays(framework, latest);
        if (cluster !== undefined) view.latestRun = { ...view.latestRun, cluster };
      }
      return ok(view);
    }
    if (method === 'PUT') {
      const spec = withRole(
        framework,
        specOrThrow(parseJobSpec(withPathId(await body(req), jobId))),
      );
      const job = core.putJob(spec, now, false);
      await framework.changed();
      return ok(jobView(job, core, embed));
    }
    if (method === 'DELETE') {
      if (url.searchParams.get('stopCurrentJobRuns') === 'true')
        await stopActiveRuns(framework, jobId);
      core.deleteJob(jobId);
      await framework.changed();
      return ok({});
    }
  }
  if (sub === 'runs') {
    if (method === 'GET' && subId === undefined) {
      if (core.getJob(jobId) === undefined) throw new HttpError(404, `no job '${jobId}'`);
      return ok(core.runsOf(jobId).map((run) => runView(run, core, now)));
    }
    if (method === 'POST' && subId === undefined) {
      const run = core.startRun(jobId, now);
      await framework.changed();
      return ok(runView(run, core, now), 201);
    }
    if (subId === undefined) throw new HttpError(405, `${method} is not allowed on the runs`);
    const run = core.getRun(jobId, subId);
    if (run === undefined) throw new HttpError(404, `no run '${subId}' of job '${jobId}'`);
    if (method === 'GET' && action === undefined) {
      const tasks = url.searchParams.get('tasks');
      if (tasks === null) return ok(runView(run, core, now));
      if (!TASK_FILTERS.has(tasks))
        throw new HttpError(400, `expected one of ${[...TASK_FILTERS].join(', ')}`, 'tasks');
      const offset = intParam(url, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
      const limit = intParam(url, 'limit', 1000, 1, MAX_TASKS_LISTED);
      return ok({
        ...(runView(run, core, now) as object),
        tasks: taskViews(run, tasks, offset, limit),
      });
    }
    if (method === 'POST' && action === 'actions' && verb === 'stop') {
      core.stopRun(jobId, subId, 'stopped by the user', now);
      await framework.changed();
      return ok(runView(run, core, now));
    }
    if (method === 'GET' && action === 'logs') return logs(framework, run, url, res);
  }
  if (sub === 'schedules') {
    const job = core.getJob(jobId);
    if (job === undefined) throw new HttpError(404, `no job '${jobId}'`);
    if (method === 'GET' && subId === undefined)
      return ok(job.schedules.map((s) => scheduleView(jobId, s, core)));
    if (method === 'POST' && subId === undefined) {
      const schedule = specOrThrow(parseScheduleSpec(await body(req)));
      core.putSchedule(jobId, schedule, now, true);
      await framework.changed();
      return ok(scheduleView(jobId, schedule, core), 201);
    }
    if (subId !== undefined && action === undefined) {
      const existing = job.schedules.find((s) => s.id === subId);
      if (method === 'GET') {
        if (existing === undefined) throw new HttpError(404, `no schedule '${subId}'`);
        return ok(scheduleView(jobId, existing, core));
      }
      if (method === 'PUT') {
        const schedule = specOrThrow(parseScheduleSpec(withPathId(await body(req), subId)));
        core.putSchedule(jobId, schedule, now, false);
        await framework.changed();
        return ok(scheduleView(jobId, schedule, core));
      }
      if (method === 'DELETE') {
        core.deleteSchedule(jobId, subId);
        await framework.changed();
        return ok({});
      }
    }
  }
  throw new HttpError(404, `no route ${method} ${url.pathname}`);
}

/** One index's stdout or stderr, read from its agent's sandbox through /files/read. */
async function logs(
  framework: JobsFramework,
  run: Parameters<typeof framework.core.indexRecord>[0],
  url: URL,
  res: ServerResponse,
): Promise<void> {
  const index = intParam(url, 'index', 0, 0, run.indices.length - 1);
  const file = url.searchParams.get('file') ?? 'stdout';
  if (file !== 'stdout' && file !== 'stderr')
    throw new HttpError(400, "expected 'stdout' or 'stderr'", 'file');
  const offset = intParam(url, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
  const length = intParam(url, 'length', MAX_READ_BYTES, 1, MAX_READ_BYTES);
  const record = framework.core.indexRecord(run, index);
  if (record?.taskId === undefined || record.agentUrl === undefined)
    throw new HttpError(404, `index ${index} has not been launched`);
  const frameworkId = framework.id;
  if (frameworkId === undefined) throw new HttpError(503, 'not subscribed yet');
  try {
    const chunk = await readFile(
      new URL(record.agentUrl),
      sandboxPath(frameworkId, record.taskId, file),
      offset,
      {
        length,
        signal: AbortSignal.timeout(10_000),
      },
    );
    reply(res, 200, { index, taskId: record.taskId, file, offset: chunk.offset, data: chunk.data });
  } catch (error) {
    throw new HttpError(
      502,
      `cannot read the sandbox of ${record.taskId}: ${(error as Error).message}`,
    );
  }
}

/**
 * For a run whose tasks wait for room: what the master's view of agents and roles says (a role
 * at its quota limit, resources held for guarantees, no agent big enough), as `agora run` tells.
 * Undefined when the run does not wait for room or the master does not answer within 2 s.
 */
async function clusterSays(framework: JobsFramework, run: Run): Promise<string | undefined> {
  const reason = run.waitReason?.kind;
  if (run.meta.status !== 'ACTIVE' || run.waiting.size === 0) return undefined;
  if (reason === 'dependencies' || reason === 'behind') return undefined;
  if (run.active >= run.meta.spec.parallelism) return undefined;
  const master = framework.masterUrl;
  if (master === undefined) return undefined;
  try {
    const signal = AbortSignal.timeout(2000);
    const [{ slaves }, { roles }] = await Promise.all([
      getJson<{ slaves: AgentView[] }>(new URL('/master/slaves', master), { signal }),
      getJson<{ roles: RoleView[] }>(new URL('/master/roles', master), { signal }),
    ]);
    return whyWaiting(demandOf(run.meta.spec), run.meta.spec.run.role ?? '*', slaves, roles)
      .message;
  } catch {
    return undefined;
  }
}

function specOrThrow<T>(parsed: { kind: 'ok'; value: T } | SpecError): T {
  if (parsed.kind === 'error')
    throw new HttpError(422, `${parsed.field}: ${parsed.message}`, parsed.field);
  return parsed.value;
}

/**
 * The job with the role its tasks will run as: the framework's own (`--role`), the only one
 * its offers are for. A job naming another role would wait for offers for ever, so it is
 * refused; one naming none gets the framework's (left as '*' it would match no offer of a
 * framework with a role).
 */
function withRole(framework: JobsFramework, spec: JobSpec): JobSpec {
  const role = spec.run.role;
  if (role === undefined)
    return framework.role === '*' ? spec : { ...spec, run: { ...spec.run, role: framework.role } };
  if (role === framework.role) return spec;
  throw new HttpError(
    422,
    `run.role: '${role}' is not a role this framework runs tasks as (it runs as '${framework.role}')`,
    'run.role',
  );
}

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const text = url.searchParams.get(name);
  if (text === null) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max)
    throw new HttpError(400, `expected a whole number in ${min}..${max}`, name);
  return value;
}

/**
 * A PUT's body with the id its path names: the body may leave `id` out, but one that names
 * another id is refused rather than silently renamed (the user meant one of the two).
 */
function withPathId(input: unknown, id: string): Record<string, unknown> {
  if (!isObject(input)) throw new HttpError(400, 'the body must be a JSON or YAML object', 'body');
  if (input.id !== undefined && input.id !== id)
    throw new HttpError(
      400,
      `id: ${JSON.stringify(input.id)} is not '${id}', the id in the path`,
      'id',
    );
  return { ...input, id };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The request's body as JSON or YAML (by content type, else by its first character). */
async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  // Refused before parsing: what echoes a field back (a PUT's mismatched id) or walks the
  // parsed value would overflow the stack on one nested thousands deep, a 500.
  if (exceedsJsonDepth(bytes, limits.MAX_JSON_DEPTH))
    throw new HttpError(400, `the body nests deeper than ${limits.MAX_JSON_DEPTH} levels`, 'body');
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'expected a body');
  try {
    return parseYaml(text);
  } catch (error) {
    throw new HttpError(400, `cannot parse the body: ${(error as Error).message}`);
  }
}

// `agora jobs …`: the jobs framework's daemon (`serve`) and its client commands, which talk to
// its REST API (`--jobs`, $AGORA_JOBS, else 127.0.0.1:8090).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArrayRange, parseYaml, serveJobs } from '../frameworks/index.js';
import { baseUrl, type HttpResult, request } from '../sdk/index.js';
import {
  durationFlag,
  numberFlag,
  type ParsedValues,
  STOP_WITH_PARENT_ENV,
  stringFlag,
  UsageError,
} from './command.js';
import { frameworkStateFrom } from './framework-state.js';
import { defaultMaster } from './run.js';

export const DEFAULT_JOBS_PORT = 8090;
/** The REST API's error answer: the field (if any) and why. */
interface ApiError {
  readonly message?: string;
  readonly field?: string;
}

interface RunView {
  readonly id: string;
  readonly jobId: string;
  readonly status: string;
  readonly createdAt: string;
  readonly completedAt?: string;
  readonly reason?: string;
  readonly stopReason?: string;
  readonly completions: number;
  readonly succeeded: number;
  readonly running: number;
  readonly queued: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly retries: number;
  readonly unreachable?: number;
  readonly replacements?: number;
  readonly waiting?: string;
  /** For tasks waiting for room: what the master's agents and roles say. */
  readonly cluster?: string;
}

interface JobView {
  readonly id: string;
  readonly completions: number;
  readonly parallelism: number;
  readonly run: {
    readonly cmd?: string;
    readonly args?: string[];
    readonly cpus: number;
    readonly mem: number;
  };
  readonly disconnect?: { readonly lostAfterSeconds: number; readonly replace: boolean };
  readonly latestRun?: RunView;
  readonly schedules?: readonly {
    id: string;
    cron: string;
    timezone: string;
    nextRunAt?: string;
  }[];
}

export async function jobs(values: ParsedValues, positionals: readonly string[]): Promise<number> {
  const [sub, ...rest] = positionals;
  switch (sub) {
    case 'serve':
      return serve(values);
    case 'submit':
      return submit(values, rest);
    case 'list':
      return list(values);
    case 'show':
      return show(values, one(rest, 'show <job>'));
    case 'runs':
      return runs(values, one(rest, 'runs <job>'));
    case 'logs':
      return logs(values, one(rest, 'logs <job>'));
    case 'cancel':
      return cancel(values, one(rest, 'cancel <job>'));
    case 'schedule':
      return schedule(values);
    default:
      throw new UsageError(
        sub === undefined ? 'missing the subcommand' : `unknown subcommand '${sub}'`,
      );
  }
}

function one(rest: readonly string[], usage: string): string {
  if (rest.length !== 1 || rest[0] === undefined)
    throw new UsageError(`usage: agora jobs ${usage}`);
  return rest[0];
}

async function serve(values: ParsedValues): Promise<number> {
  const role = stringFlag(values, 'role');
  const state = await frameworkStateFrom(
    stringFlag(values, 'state') ?? 'embedded',
    resolve(stringFlag(values, 'work_dir') ?? '.agora/jobs'),
    'jobs',
  );
  let daemon: Awaited<ReturnType<typeof serveJobs>>;
  try {
    daemon = await serveJobs({
      master: defaultMaster(values),
      ip: stringFlag(values, 'ip') ?? '127.0.0.1',
      port: numberFlag(values, 'port', DEFAULT_JOBS_PORT),
      store: state.store,
      ...(state.directory !== undefined ? { legacyDir: state.directory } : {}),
      agingMs: durationFlag(values, 'aging', 60_000),
      debug: stringFlag(values, 'log_level') === 'debug',
      ...(role !== undefined ? { role } : {}),
    });
  } catch (error) {
    await state.store.close().catch(() => undefined);
    await state.close();
    throw error;
  }
  const reason = await new Promise<'signal' | 'store failed'>((done) => {
    process.once('SIGINT', () => done('signal'));
    process.once('SIGTERM', () => done('signal'));
    void daemon.storeFailed.then(() => done('store failed'));
    if (process.env[STOP_WITH_PARENT_ENV] === '1') {
      process.stdin.once('close', () => done('signal'));
      process.stdin.resume();
    }
  });
  if (process.env[STOP_WITH_PARENT_ENV] === '1') process.stdin.destroy();
  await daemon.stop();
  await state.close();
  // Not 0: `agora up` (or any supervisor) starts it again, from what the store holds.
  return reason === 'store failed' ? EXIT_STORE_FAILED : 0;
}

/** The exit status when the store failed, as the master's for a broken invariant. */
const EXIT_STORE_FAILED = 70;

function api(values: ParsedValues, path: string): URL {
  const address =
    stringFlag(values, 'jobs') ?? process.env.AGORA_JOBS ?? `127.0.0.1:${DEFAULT_JOBS_PORT}`;
  return new URL(path, baseUrl(address));
}

async function call(
  values: ParsedValues,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpResult & { json: unknown }> {
  const result = await request(api(values, path), {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  const text = result.body.toString('utf8');
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = text;
  }
  return { ...result, json };
}

class ApiFailure extends Error {
  constructor(status: number, body: unknown) {
    const error = body as ApiError;
    super(`${status}: ${error?.message ?? JSON.stringify(body)}`);
    this.name = 'ApiFailure';
  }
}

async function must(
  values: ParsedValues,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const result = await call(values, method, path, body);
  if (result.status >= 300) throw new ApiFailure(result.status, result.json);
  return result.json;
}

/** Reports an API failure as `agora jobs: …` and exit status 1. */
async function reporting(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ApiFailure)) throw error;
    process.stderr.write(`agora jobs: ${error.message}\n`);
    return 1;
  }
}

function submit(values: ParsedValues, command: readonly string[]): Promise<number> {
  return reporting(async () => {
    const file = stringFlag(values, 'file');
    const specs: unknown[] = [];
    if (file !== undefined) {
      if (command.length > 0)
        throw new UsageError('give either -f <spec> or -- <command>, not both');
      const parsed = parseYaml(readFileSync(file, 'utf8'));
      if (Array.isArray(parsed)) specs.push(...parsed);
      else if (isRecord(parsed) && Array.isArray(parsed.jobs)) specs.push(...parsed.jobs);
      else specs.push(parsed);
    } else {
      if (command.length === 0) throw new UsageError('missing -f <spec>, or the command after --');
      specs.push(arraySpec(values, command));
    }
    if (specs.length > 100) throw new UsageError('at most 100 jobs per file');
    for (const spec of specs) {
      const id = isRecord(spec) && typeof spec.id === 'string' ? spec.id : '';
      const created = await call(values, 'POST', '/v1/jobs', spec);
      if (created.status === 409)
        await must(values, 'PUT', `/v1/jobs/${encodeURIComponent(id)}`, spec);
      else if (created.status >= 300) throw new ApiFailure(created.status, created.json);
      const run = (await must(
        values,
        'POST',
        `/v1/jobs/${encodeURIComponent(id)}/runs`,
      )) as RunView;
      process.stdout.write(`${run.jobId} ${run.id}\n`);
    }
    return 0;
  });
}

/** `--array 0-999 --cpus 0.1 --mem 64 -- cmd`: a job spec like `sbatch --array`'s. */
function arraySpec(values: ParsedValues, command: readonly string[]): Record<string, unknown> {
  const range = parseArrayRange(stringFlag(values, 'array') ?? '0-0');
  if (range.kind === 'error') throw new UsageError(`--array: ${range.message}`);
  const id = stringFlag(values, 'id') ?? `array-${Date.now().toString(36)}`;
  const parallelism = stringFlag(values, 'parallelism');
  const env = Object.fromEntries(
    ((values.env as string[] | undefined) ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new UsageError(`--env: expected NAME=value, got '${pair}'`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  return {
    id,
    run: {
      ...(command.length === 1 ? { cmd: command[0] } : { args: [...command] }),
      cpus: numberFlag(values, 'cpus', 0.1),
      mem: numberFlag(values, 'mem', 32),
      ...(Object.keys(env).length > 0 ? { env } : {}),
      ...(stringFlag(values, 'docker_image') !== undefined
        ? { docker: { image: stringFlag(values, 'docker_image') } }
        : {}),
    },
    completions: range.value.completions,
    ...(range.value.parallelism !== undefined ? { parallelism: range.value.parallelism } : {}),
    ...(parallelism !== undefined ? { parallelism: numberFlag(values, 'parallelism', 1, 1) } : {}),
    maxRetries: numberFlag(values, 'max_retries', 3),
    disconnect: disconnectFlag(values),
  };
}

/** --lost_after: a duration (whole seconds on the wire), or `never` for replace: false. */
function disconnectFlag(values: ParsedValues): { lostAfterSeconds: number; replace: boolean } {
  if (stringFlag(values, 'lost_after') === 'never')
    return { lostAfterSeconds: 300, replace: false };
  const lostAfterMs = durationFlag(values, 'lost_after', 300_000);
  return { lostAfterSeconds: Math.round(lostAfterMs / 1000), replace: true };
}

function list(values: ParsedValues): Promise<number> {
  return reporting(async () => {
    const all = (await must(values, 'GET', '/v1/jobs?embed=latestRun')) as JobView[];
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
      return 0;
    }
    const rows = all.map((job) => {
      const run = job.latestRun;
      return [
        job.id,
        run?.status ?? '-',
        run === undefined ? '-' : `${run.succeeded}/${run.completions}`,
        run === undefined ? '-' : String(run.running),
        run === undefined ? '-' : String(run.queued),
        run === undefined ? '-' : String(run.failed),
        (job.run.cmd ?? job.run.args?.join(' ') ?? '').slice(0, 40),
      ];
    });
    printTable(['JOB', 'STATUS', 'DONE', 'RUNNING', 'QUEUED', 'FAILED', 'COMMAND'], rows);
    return 0;
  });
}

function show(values: ParsedValues, jobId: string): Promise<number> {
  return reporting(async () => {
    const job = (await must(
      values,
      'GET',
      `/v1/jobs/${encodeURIComponent(jobId)}?embed=latestRun,schedules`,
    )) as JobView;
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
      return 0;
    }
    const out: string[] = [
      `job ${job.id}: ${job.completions} indices, ${job.parallelism} at a time`,
    ];
    if (job.disconnect !== undefined)
      out.push(
        job.disconnect.replace
          ? `  a task on an unreachable agent: replaced after ${job.disconnect.lostAfterSeconds} s`
          : '  a task on an unreachable agent: kept, never replaced',
      );
    const run = job.latestRun;
    if (run === undefined) out.push('no run yet');
    else {
      out.push(`run ${run.id}: ${run.status}${run.reason !== undefined ? ` (${run.reason})` : ''}`);
      out.push(`  ${progressLine(run, process.stdout.isTTY === true)}`);
      if (run.retries > 0) out.push(`  retries: ${run.retries}`);
      if ((run.unreachable ?? 0) > 0) out.push(`  on unreachable agents: ${run.unreachable}`);
      if ((run.replacements ?? 0) > 0)
        out.push(`  replaced (agent unreachable, not retries): ${run.replacements}`);
      if (run.waiting !== undefined) out.push(`  waiting: ${run.waiting}`);
      if (run.cluster !== undefined) out.push(`  the cluster: ${run.cluster}`);
    }
    for (const s of job.schedules ?? [])
      out.push(
        `schedule ${s.id}: '${s.cron}' in ${s.timezone}${s.nextRunAt !== undefined ? `, next at ${s.nextRunAt}` : ''}`,
      );
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  });
}

/** `done 120 / running 8 / queued 872 / failed 0`, with a bar on a terminal. */
export function progressLine(run: RunView, isTty: boolean): string {
  const counts = `done ${run.succeeded} / running ${run.running} / queued ${run.queued} / failed ${run.failed} of ${run.completions}`;
  if (!isTty) return counts;
  const width = 30;
  const done = Math.round((run.succeeded / Math.max(1, run.completions)) * width);
  const running = Math.min(
    width - done,
    Math.round((run.running / Math.max(1, run.completions)) * width),
  );
  const bar = `${'█'.repeat(done)}${'▒'.repeat(running)}${'░'.repeat(width - done - running)}`;
  const percent = Math.floor((run.succeeded / Math.max(1, run.completions)) * 100);
  return `[${bar}] ${percent}%  ${counts}`;
}

function runs(values: ParsedValues, jobId: string): Promise<number> {
  return reporting(async () => {
    const all = (await must(
      values,
      'GET',
      `/v1/jobs/${encodeURIComponent(jobId)}/runs`,
    )) as RunView[];
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
      return 0;
    }
    printTable(
      ['RUN', 'STATUS', 'CREATED', 'COMPLETED', 'DONE', 'RETRIES', 'REASON'],
      all.map((r) => [
        r.id,
        r.status,
        r.createdAt,
        r.completedAt ?? '-',
        `${r.succeeded}/${r.completions}`,
        String(r.retries),
        r.reason ?? r.waiting ?? '',
      ]),
    );
    return 0;
  });
}

function logs(values: ParsedValues, jobId: string): Promise<number> {
  return reporting(async () => {
    let runId = stringFlag(values, 'run');
    if (runId === undefined) {
      const all = (await must(
        values,
        'GET',
        `/v1/jobs/${encodeURIComponent(jobId)}/runs`,
      )) as RunView[];
      runId = all.at(-1)?.id;
      if (runId === undefined) throw new ApiFailure(404, { message: `job '${jobId}' has no run` });
    }
    const index = numberFlag(values, 'index', 0);
    const file = values.stderr === true ? 'stderr' : 'stdout';
    let offset = 0;
    // Bounded: a sandbox file is read in pages up to 64 MiB.
    for (let pages = 0; pages < 1024; pages++) {
      const chunk = (await must(
        values,
        'GET',
        `/v1/jobs/${encodeURIComponent(jobId)}/runs/${encodeURIComponent(runId)}/logs?index=${index}&file=${file}&offset=${offset}`,
      )) as { data: string; offset: number };
      if (chunk.data === '') break;
      process.stdout.write(chunk.data);
      offset = chunk.offset + Buffer.byteLength(chunk.data);
    }
    return 0;
  });
}

function cancel(values: ParsedValues, jobId: string): Promise<number> {
  return reporting(async () => {
    const all = (await must(
      values,
      'GET',
      `/v1/jobs/${encodeURIComponent(jobId)}/runs`,
    )) as RunView[];
    const active = all.filter((r) => r.status === 'INITIAL' || r.status === 'ACTIVE');
    for (const run of active)
      await must(
        values,
        'POST',
        `/v1/jobs/${encodeURIComponent(jobId)}/runs/${encodeURIComponent(run.id)}/actions/stop`,
      );
    process.stdout.write(
      `stopped ${active.length} run${active.length === 1 ? '' : 's'} of ${jobId}\n`,
    );
    return 0;
  });
}

/** `-f file`: `{ job: <id or a job spec>, schedule: { id, cron, timezone, … } }`. */
function schedule(values: ParsedValues): Promise<number> {
  return reporting(async () => {
    const file = stringFlag(values, 'file');
    if (file === undefined) throw new UsageError('missing -f <schedule spec>');
    const parsed = parseYaml(readFileSync(file, 'utf8'));
    if (!isRecord(parsed) || !isRecord(parsed.schedule))
      throw new UsageError(`${file}: expected 'job: <id or spec>' and 'schedule: {…}'`);
    let jobId: string;
    if (typeof parsed.job === 'string') jobId = parsed.job;
    else if (isRecord(parsed.job) && typeof parsed.job.id === 'string') {
      jobId = parsed.job.id;
      const created = await call(values, 'POST', '/v1/jobs', parsed.job);
      if (created.status === 409)
        await must(values, 'PUT', `/v1/jobs/${encodeURIComponent(jobId)}`, parsed.job);
      else if (created.status >= 300) throw new ApiFailure(created.status, created.json);
    } else throw new UsageError(`${file}: 'job' must be a job id or a job spec with an id`);
    const sid = typeof parsed.schedule.id === 'string' ? parsed.schedule.id : '';
    const path = `/v1/jobs/${encodeURIComponent(jobId)}/schedules`;
    const created = await call(values, 'POST', path, parsed.schedule);
    const result =
      created.status === 409
        ? await must(values, 'PUT', `${path}/${encodeURIComponent(sid)}`, parsed.schedule)
        : created.status >= 300
          ? (() => {
              throw new ApiFailure(created.status, created.json);
            })()
          : created.json;
    const view = result as { id: string; nextRunAt?: string };
    process.stdout.write(`${jobId} ${view.id} next at ${view.nextRunAt ?? 'never'}\n`);
    return 0;
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function printTable(head: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  process.stdout.write(`${[line(head), ...rows.map(line)].join('\n')}\n`);
}

// The jobs framework as a real daemon (`agora jobs serve`) beside a harness cluster, and a small
// client for its REST API.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { type Cluster, type Daemon, startDaemon, waitFor } from './harness.js';

export interface JobsDaemon {
  readonly daemon: Daemon;
  readonly url: string;
  readonly workDir: string;
}

/** Starts `agora jobs serve` against `cluster`'s master; state in `workDir` (kept across restarts). */
export async function startJobs(
  cluster: Cluster,
  options: {
    readonly workDir?: string;
    readonly agingSeconds?: number;
    readonly port?: number;
    /** --state: embedded by default; zk://… or etcd://… keep it in the coordinator. */
    readonly state?: string;
    /** --role: the one role the framework subscribes with. */
    readonly role?: string;
  } = {},
): Promise<JobsDaemon> {
  const workDir = options.workDir ?? mkdtempSync(join(cluster.workDir, 'jobs-'));
  const daemon = await startDaemon('jobs', [
    'jobs',
    'serve',
    '--master',
    cluster.masterUrl,
    '--port',
    String(options.port ?? 0),
    '--work_dir',
    workDir,
    '--aging',
    `${options.agingSeconds ?? 60}secs`,
    ...(options.state !== undefined ? ['--state', options.state] : []),
    ...(options.role !== undefined ? ['--role', options.role] : []),
  ]);
  return { daemon, url: daemon.url, workDir };
}

export async function api<T = unknown>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const response = await fetch(new URL(path, base), {
    method,
    ...(body !== undefined
      ? {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }
      : {}),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

export interface RunView {
  id: string;
  jobId: string;
  status: string;
  reason?: string;
  waiting?: string;
  completions: number;
  succeeded: number;
  running: number;
  queued: number;
  failed: number;
  retries: number;
  completedAt?: string;
  startedAt?: string;
  createdAt: string;
  tasks?: {
    index: number;
    status: string;
    attempts: number;
    failures: number;
    id?: string;
    startedAt?: string;
  }[];
}

/** Creates the job and starts a run; returns the run. */
export async function submit(base: string, spec: Record<string, unknown>): Promise<RunView> {
  const created = await api(base, 'POST', '/v1/jobs', spec);
  if (created.status !== 201)
    throw new Error(`POST /v1/jobs: ${created.status} ${JSON.stringify(created.body)}`);
  const run = await api<RunView>(base, 'POST', `/v1/jobs/${spec.id}/runs`);
  if (run.status !== 201) throw new Error(`POST runs: ${run.status} ${JSON.stringify(run.body)}`);
  return run.body;
}

export async function getRun(
  base: string,
  jobId: string,
  runId: string,
  tasks?: string,
): Promise<RunView> {
  const query = tasks !== undefined ? `?tasks=${tasks}&limit=10000` : '';
  const run = await api<RunView>(base, 'GET', `/v1/jobs/${jobId}/runs/${runId}${query}`);
  if (run.status !== 200) throw new Error(`GET run: ${run.status} ${JSON.stringify(run.body)}`);
  return run.body;
}

/** Waits for the run to finish (SUCCESS or FAILED). */
export function runFinished(
  base: string,
  jobId: string,
  runId: string,
  timeoutMs: number,
): Promise<RunView> {
  return waitFor(
    `run ${jobId}/${runId} to finish`,
    async () => {
      const run = await getRun(base, jobId, runId);
      return run.status === 'SUCCESS' || run.status === 'FAILED' ? run : undefined;
    },
    timeoutMs,
  );
}

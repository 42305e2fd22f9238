// An agent's `/files/*` facing a hostile task, all real processes: tasks
// launched by `agora run` swap a file for a link to /etc/passwd in a loop, or
// make a FIFO and links out of their sandbox, while the test reads and browses.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import {
  allTasks,
  type CliRun,
  type Cluster,
  getState,
  runCli,
  startCluster,
  waitFor,
} from './harness.js';

interface Reply {
  readonly status: number;
  readonly body: string;
}

interface HostileTask {
  readonly cli: CliRun;
  /** The sandbox as a virtual path, as `agora run` reads it. */
  readonly sandbox: string;
  /** The sandbox's path on disk. */
  readonly realSandbox: string;
  readonly agentPid: number;
  /** GET `route` on the task's agent with `path` and `offset` 0; times out after 5 s. */
  get(route: string, path: string): Promise<Reply>;
  isRunning(): boolean;
}

/** Descriptors of process `pid` that point into `dir`. */
function descriptorsInto(pid: number, dir: string): string[] {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      // The parked shim's FIFO is the agent's to hold until a launch (shim-parking.ts).
      if (/\/meta\/parked\/parked-[^/]+\.fifo$/.test(target)) return [];
      return target.startsWith(dir) ? [target] : [];
    } catch {
      return [];
    }
  });
}

describe('an agent serving the sandbox of a hostile task', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ agents: 1, agentResources: 'cpus:2;mem:1024;disk:1024' });
  });
  after(() => cluster?.stop());

  /** Runs `script` through `agora run`; resolves once the task has touched `made`. */
  async function startHostileTask(t: TestContext, script: string): Promise<HostileTask> {
    const cli = runCli(['run', '--master', cluster.masterUrl, '--', 'sh', '-c', script], {
      timeoutMs: 60_000,
    });
    let isRunning = true;
    void cli.result.then(() => (isRunning = false));
    t.after(() => (isRunning ? cli.killAll() : undefined));
    const launched = await cli.stderrMatches(/task agora-run-[0-9a-f]+ launched/);
    const taskIdValue = launched.split(' ')[1] ?? '';
    const task = await waitFor('the task in /master/state', async () =>
      allTasks(await getState(cluster.masterUrl)).find((t) => t.id === taskIdValue),
    );
    const agent = cluster.agents[0];
    assert.ok(agent !== undefined);
    const run = `frameworks/${task.framework_id}/executors/${taskIdValue}/runs/latest`;
    const get = (route: string, path: string): Promise<Reply> => {
      const url = new URL(route, agent.url);
      url.searchParams.set('path', path);
      url.searchParams.set('offset', '0');
      return fetch(url, { signal: AbortSignal.timeout(5_000) }).then(async (r) => ({
        status: r.status,
        body: await r.text(),
      }));
    };
    const sandbox = `/${run}`;
    await waitFor('the task to make its files', async () =>
      (await get('/files/read', `${sandbox}/made`)).status === 200 ? true : undefined,
    );
    return {
      cli,
      sandbox,
      realSandbox: join(cluster.workDir, agent.name, 'slaves', task.slave_id, run),
      agentPid: agent.pid,
      get,
      isRunning: () => isRunning,
    };
  }

  test('files never serve /etc/passwd while the task swaps a file for a link to it', async (t) => {
    const passwdLine = readFileSync('/etc/passwd', 'utf8').split('\n')[0] ?? '';
    assert.ok(passwdLine.length > 5, 'a first line of /etc/passwd to look for');
    const task = await startHostileTask(
      t,
      [
        'echo inside > x',
        'touch made',
        // Bounded: it swaps for 3 seconds, then ends.
        'end=$(( $(date +%s) + 3 ))',
        'while [ "$(date +%s)" -lt "$end" ]; do',
        '  ln -sfn /etc/passwd x.link; mv -fT x.link x',
        '  echo inside > x.file; mv -fT x.file x',
        'done',
        'echo done',
      ].join('\n'),
    );
    const path = `${task.sandbox}/x`;
    const replies: Reply[] = [];
    const deadline = performance.now() + 3_000;
    const hammer = async () => {
      while (task.isRunning() && performance.now() < deadline) {
        replies.push(await task.get('/files/read', path));
        replies.push(await task.get('/files/download', path));
      }
    };
    await Promise.all(Array.from({ length: 4 }, hammer));
    const leaked = replies.filter((r) => r.body.includes(passwdLine));
    assert.equal(
      leaked.length,
      0,
      `${leaked.length} of ${replies.length} answers held /etc/passwd`,
    );
    assert.ok(
      replies.some((r) => r.status === 200 && r.body.includes('inside')),
      `some of ${replies.length} answers served 'inside'`,
    );
    assert.deepEqual(
      replies.filter((r) => r.status >= 500),
      [],
    );
    const { code, stdout, stderr } = await task.cli.result;
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'done\n');
  });

  test('files refuse a FIFO at once, list links as links, and agora run still gets its output', async (t) => {
    const task = await startHostileTask(
      t,
      [
        'mkfifo fifo',
        'ln -s /etc/passwd passwd',
        'ln -s / root',
        'ln -s /nonexistent dangling',
        'echo ready',
        'touch made',
        // Waits (at most 30 s) for the test to say go, then prints what agora run must copy.
        'i=0; while [ ! -e go ] && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done',
        'echo done',
      ].join('\n'),
    );
    // 12 FIFO requests: three times libuv's 4 pool threads, had any of them blocked.
    for (let i = 0; i < 4; i++)
      for (const route of ['/files/read', '/files/download', '/files/browse']) {
        const reply = await task.get(route, `${task.sandbox}/fifo`);
        assert.equal(reply.status, 400, `${route}: ${reply.body}`);
        assert.match(reply.body, /is a FIFO, not a regular file/);
      }
    for (const name of ['passwd', 'root/etc/passwd', 'dangling'])
      for (const route of ['/files/read', '/files/download', '/files/browse'])
        assert.equal((await task.get(route, `${task.sandbox}/${name}`)).status, 404, route + name);
    const browse = await task.get('/files/browse', task.sandbox);
    assert.equal(browse.status, 200, browse.body);
    const entries = JSON.parse(browse.body) as { path: string; mode: string; size: number }[];
    const byName = new Map(entries.map((e) => [e.path.split('/').pop(), e]));
    assert.match(byName.get('passwd')?.mode ?? '', /^l/);
    assert.equal(byName.get('passwd')?.size, '/etc/passwd'.length, "the link's own size");
    assert.match(byName.get('root')?.mode ?? '', /^l/);
    assert.match(byName.get('dangling')?.mode ?? '', /^l/);
    assert.match(byName.get('fifo')?.mode ?? '', /^p/);

    writeFileSync(join(task.realSandbox, 'go'), '');
    const { code, stdout, stderr } = await task.cli.result;
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'ready\ndone\n', 'agora run read all of its output through /files');
    assert.deepEqual(descriptorsInto(task.agentPid, cluster.workDir), [], 'the agent keeps none');
  });
});

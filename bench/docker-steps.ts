// Where one Docker task's time goes (#11), on one clock beside `docker run -d`'s own: per round,
// `agora run --docker-image IMG --network none -- true` (without NODE_EXTRA_CA_CERTS, as
// bench/docker.ts runs it) and then the floor, `docker run -d` of
// the very container the agent asks dockerd for (bench/docker-floor.ts), each on an idle
// dockerd. Marks, as ms from each one's spawn: the CLI's lines; the master's and the agent's
// log lines (the agent at debug: each Engine API step is a line); dockerd's container events
// (create, attach, start, die), whose times are dockerd's own, on the same wall clock.
//
//   node --import tsx bench/docker-steps.ts [--runs N] [--isolation LIST|default]
//
// --isolation: the agent's (default: bench/docker.ts's, `cgroups/cpu,cgroups/mem,
// filesystem/linux,docker/runtime`; `default` leaves the agent's own choice).
// Prints, per step, the median offset over N runs (after one warm-up round), then the spans
// that compare the two: what dockerd takes from the create's arrival to the start's end in
// each, and what is left of each row outside dockerd. Then the CPU each process used in each
// span (the threads' run time from /proc/<pid>/task/*/schedstat, read as dockerd's events and
// the CLI's lines arrive): who shares the two cores with dockerd while it starts the container.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs, promisify } from 'node:util';
import { DockerEngine } from '../src/containerizer/docker-engine.js';
import { DOCKER_CLI, startDocker } from '../test/integration/docker-harness.js';
import { AGORA, type Cluster, descendants, startCluster } from '../test/integration/harness.js';
import { taskDockerRun } from './docker-floor.js';

const run = promisify(execFile);
const now = () => performance.timeOrigin + performance.now();
// As bench/docker.ts runs the CLI: without NODE_EXTRA_CA_CERTS (Node 20 parses the bundle it
// names at start-up, ~40 ms here; the Go CLI never reads it).
const { NODE_EXTRA_CA_CERTS: _ca, ...CLI_ENV } = process.env;
const BENCH_ISOLATION = 'cgroups/cpu,cgroups/mem,filesystem/linux,docker/runtime';

interface Mark {
  readonly at: number;
  readonly what: string;
}

/** ms of CPU the processes' threads have run, from their schedstat (ns); gone ones count 0. */
function cpuMs(pids: readonly number[]): number {
  let ns = 0;
  for (const pid of pids) {
    let threads: string[] = [];
    try {
      threads = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of threads)
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread ended while we looked.
      }
  }
  return ns / 1e6;
}

/** CPU by process group at one moment; the groups' pids are fixed before each run. */
type Sample = Readonly<Record<string, number>>;

const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Offsets of each mark from `started`, a repeated mark numbered (#2, #3, …). */
function offsetsOf(marks: readonly Mark[], started: number): Map<string, number> {
  const out = new Map<string, number>();
  const seen = new Map<string, number>();
  for (const mark of [...marks].sort((a, b) => a.at - b.at)) {
    const n = (seen.get(mark.what) ?? 0) + 1;
    seen.set(mark.what, n);
    out.set(n === 1 ? mark.what : `${mark.what} #${n}`, mark.at - started);
  }
  return out;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      isolation: { type: 'string', default: BENCH_ISOLATION },
    },
  });
  const runs = Number(values.runs);
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const docker = await startDocker();
  const engine = new DockerEngine(docker.socket);
  const floorDir = mkdtempSync(join(tmpdir(), 'agora-bench-steps-'));
  let cluster: Cluster | undefined;
  const events: Mark[] = [];
  /** The run's CPU sampler, told of each dockerd event as it arrives. */
  let onEvent: ((what: string) => void) | undefined;
  const eventsReq = request(
    {
      socketPath: docker.socket,
      path: `/v1.41/events?filters=${encodeURIComponent(JSON.stringify({ type: ['container'] }))}`,
    },
    (res) => {
      res.on('error', () => undefined);
      createInterface({ input: res })
        .on('error', () => undefined)
        .on('line', (line) => {
          const event = JSON.parse(line) as { Action: string; timeNano: number };
          const what = `dockerd: ${event.Action.split(':')[0]}`;
          events.push({ at: event.timeNano / 1e6, what });
          onEvent?.(what);
        });
    },
  );
  eventsReq.on('error', () => undefined);
  eventsReq.end();
  // As bench/docker.ts: no container left from the run before, and a short breath.
  const idle = async () => {
    const deadline = performance.now() + 30_000;
    while ((await engine.list({})).length > 0) {
      if (performance.now() > deadline) throw new Error('dockerd still has containers after 30 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  };
  try {
    // The master at info, as users run it (its lines used here are at info).
    cluster = await startCluster({
      agents: 0,
      agentResources: 'cpus:8;mem:8192',
      masterArgs: ['--log_level', 'info'],
    });
    const agent = await cluster.addAgent('agent-1', [
      '--containerizers',
      'docker,mesos',
      '--docker_socket',
      docker.socket,
      '--docker_remove_delay',
      '0secs',
      '--log_level',
      'debug',
      ...(values.isolation === 'default' ? [] : ['--isolation', values.isolation]),
    ]);
    const agora = new Map<string, number[]>();
    const floor = new Map<string, number[]>();
    // CPU ms by `<group> <span>`, spans between the samples named.
    const agoraCpu = new Map<string, number[]>();
    const readsDuringStart: number[] = [];
    const floorCpu = new Map<string, number[]>();
    const addCpu = (
      into: Map<string, number[]>,
      samples: ReadonlyMap<string, Sample>,
      order: readonly string[],
    ) => {
      for (let k = 1; k < order.length; k++) {
        const from = samples.get(order[k - 1] ?? '');
        const to = samples.get(order[k] ?? '');
        if (from === undefined || to === undefined) continue;
        for (const group of Object.keys(to)) {
          const key = `${group}: ${order[k - 1]} → ${order[k]}`;
          into.set(key, [...(into.get(key) ?? []), (to[group] ?? 0) - (from[group] ?? 0)]);
        }
      }
    };
    const add = (into: Map<string, number[]>, offsets: Map<string, number>) => {
      for (const [what, ms] of offsets) into.set(what, [...(into.get(what) ?? []), ms]);
    };
    for (let i = 0; i <= runs; i++) {
      await idle();
      const marks: Mark[] = [];
      const masterFrom = cluster.master.lines.length;
      const agentFrom = agent.lines.length;
      let eventsFrom = events.length;
      const groups = (cli: number): Record<string, readonly number[]> => ({
        cli: [cli],
        master: [cluster?.master.pid ?? -1],
        agent: [agent.pid, ...agentChildren],
        // dockerd and its containerd (a container's shim leaves the tree: not counted).
        docker: dockerTree,
      });
      const agentChildren = descendants(agent.pid);
      const dockerTree = [docker.pid, ...descendants(docker.pid)];
      const samples = new Map<string, Sample>();
      let pidsOf: Record<string, readonly number[]> = {};
      const sample = (at: string) => {
        if (samples.has(at)) return;
        samples.set(
          at,
          Object.fromEntries(Object.entries(pidsOf).map(([group, pids]) => [group, cpuMs(pids)])),
        );
      };
      onEvent = (what) => {
        if (what === 'dockerd: create' || what === 'dockerd: start') sample(what);
      };
      let started = now();
      const child = spawn(
        process.execPath,
        [
          AGORA,
          'run',
          '--master',
          cluster.masterUrl,
          '--docker-image',
          docker.image,
          '--network',
          'none',
          '--',
          'true',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], env: CLI_ENV },
      );
      pidsOf = groups(child.pid ?? -1);
      sample('spawn');
      if (child.stderr !== null)
        createInterface({ input: child.stderr }).on('line', (line) => {
          if (/is TASK_RUNNING/.test(line)) sample('running');
          marks.push({
            at: now(),
            what: `cli: ${line.replace(/agora-run-[0-9a-f]+/g, 'T').slice(0, 60)}`,
          });
        });
      const [code] = await once(child, 'exit');
      marks.push({ at: now(), what: 'cli: exit' });
      if (code !== 0) throw new Error(`agora run exited ${code}`);
      await idle();
      for (const [who, lines] of [
        ['master', cluster.master.lines.slice(masterFrom)],
        ['agent', agent.lines.slice(agentFrom)],
      ] as const)
        for (const line of lines)
          if (typeof line.time === 'string' && line.path === undefined)
            marks.push({
              at: Date.parse(line.time),
              what: `${who}: ${String(line.msg)}${line.state ? ` ${line.state}` : ''}`,
            });
      marks.push(...events.slice(eventsFrom));
      // The CLI's output reads the agent served while dockerd created and started the
      // container (from the create's request to the start's answer): work beside dockerd's.
      const agentLines = agent.lines.slice(agentFrom);
      const timeOf = (msg: string) =>
        Date.parse(String(agentLines.find((line) => line.msg === msg)?.time));
      const [asked, ran] = [timeOf('container create asked'), timeOf('container started')];
      const reads = agentLines.filter((line) => {
        const at = Date.parse(String(line.time));
        return String(line.path).includes('/files/read') && at >= asked && at <= ran;
      }).length;
      if (i > 0) {
        readsDuringStart.push(reads);
        add(agora, offsetsOf(marks, started));
        addCpu(agoraCpu, samples, ['spawn', 'dockerd: create', 'dockerd: start', 'running']);
      }
      // The floor: the task's own container, detached, by the Go CLI.
      const task = taskDockerRun(docker.image, floorDir, 'true');
      await idle();
      eventsFrom = events.length;
      samples.clear();
      started = now();
      const floorRun = run(
        DOCKER_CLI,
        ['-H', `unix://${docker.socket}`, 'run', '-d', ...task.args],
        {
          env: { ...process.env, ...task.env },
        },
      );
      pidsOf = { cli: [floorRun.child.pid ?? -1], docker: dockerTree };
      sample('spawn');
      const { child: floorChild } = floorRun;
      // When it prints the container's id (the start has answered), while it still lives:
      // a reaped process has no CPU left to read.
      floorChild.stdout?.once('data', () => sample('running'));
      await floorRun;
      const exited = now();
      await run(DOCKER_CLI, ['-H', `unix://${docker.socket}`, 'rm', '-f', task.name]);
      const floorMarks = [
        { at: exited, what: 'docker run -d: exit' },
        ...events.slice(eventsFrom).filter((event) => event.at <= exited),
      ];
      if (i > 0) {
        add(floor, offsetsOf(floorMarks, started));
        // Only the whole: with nothing else going on, dockerd holds its `create` event back
        // until the next one (`start`), so a sample at its arrival is taken at the start.
        addCpu(floorCpu, samples, ['spawn', 'running']);
      }
      onEvent = undefined;
    }
    const print = (title: string, rows: Map<string, number[]>) => {
      process.stdout.write(`${title}\n`);
      for (const [what, xs] of [...rows].sort((a, b) => median(a[1]) - median(b[1])))
        process.stdout.write(`${median(xs).toFixed(1).padStart(8)}  ${what} (${xs.length})\n`);
    };
    print('agora run --docker-image IMG -- true, ms from the spawn (medians)', agora);
    print('\ndocker run -d, the same container, ms from the spawn (medians)', floor);
    const at = (rows: Map<string, number[]>, what: string) => median(rows.get(what) ?? []);
    const running = at(agora, 'cli: agora: task T is TASK_RUNNING');
    const floorExit = at(floor, 'docker run -d: exit');
    // dockerd's part of each: from the create's request (the agent's line; the floor's is the
    // CLI's, unseen: its create event less the create's own time in the Agora run) to `start`.
    const createdToStarted = at(agora, 'dockerd: start') - at(agora, 'dockerd: create');
    const floorCreatedToStarted = at(floor, 'dockerd: start') - at(floor, 'dockerd: create');
    const rows = [
      ['Agora: spawn → RUNNING line', running],
      ['docker run -d: spawn → exit', floorExit],
      ['Agora over the floor', running - floorExit],
      ['dockerd create event → start event, Agora / floor', createdToStarted],
      ['', floorCreatedToStarted],
      [
        'Agora: spawn → create asked (CLI, master, agent)',
        at(agora, 'agent: container create asked'),
      ],
      [
        'Agora: create asked → dockerd create event',
        at(agora, 'dockerd: create') - at(agora, 'agent: container create asked'),
      ],
      ['floor: spawn → dockerd create event', at(floor, 'dockerd: create')],
      ['Agora: dockerd start event → RUNNING line', running - at(agora, 'dockerd: start')],
      ['floor: dockerd start event → exit', floorExit - at(floor, 'dockerd: start')],
    ] as const;
    process.stdout.write('\nspans (of the medians above), ms\n');
    for (const [what, ms] of rows) process.stdout.write(`${ms.toFixed(1).padStart(8)}  ${what}\n`);
    for (const [title, rows] of [
      [
        '\nCPU ms by process in each span, Agora (medians; "running": the CLI\'s RUNNING line)',
        agoraCpu,
      ],
      ['\nCPU ms by process, docker run -d, spawn → it prints the id (medians)', floorCpu],
    ] as const) {
      process.stdout.write(`${title}\n`);
      for (const [what, xs] of rows)
        process.stdout.write(`${median(xs).toFixed(1).padStart(8)}  ${what}\n`);
    }
    process.stdout.write(
      `\n/files/read served by the agent from the create asked to the start answered: ${median(readsDuringStart)} (median; ${Math.min(...readsDuringStart)}-${Math.max(...readsDuringStart)})\n`,
    );
    process.stdout.write(
      `${runs} rounds; isolation ${values.isolation}; load ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after\n`,
    );
    return 0;
  } finally {
    eventsReq.destroy();
    await cluster?.stop();
    await docker.stop();
    rmSync(floorDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();

// Where one Docker task's time goes (#11): timestamps at each step of `agora run
// --docker-image IMG -- true`, from the CLI's spawn: the CLI's own lines, the master's and the
// agent's log lines (debug), and dockerd's container events (create, attach, start, die).
//
//   node --import tsx bench/docker-steps.ts [--runs N]
//
// Prints, per step, the median offset in ms from the spawn over N runs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startDocker } from '../test/integration/docker-harness.js';
import { AGORA, type Cluster, startCluster } from '../test/integration/harness.js';

const now = () => performance.timeOrigin + performance.now();

interface Mark {
  readonly at: number;
  readonly what: string;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
  const runs = Number(values.runs);
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const docker = await startDocker();
  let cluster: Cluster | undefined;
  const events: Mark[] = [];
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
          events.push({ at: event.timeNano / 1e6, what: `dockerd: ${event.Action.split(':')[0]}` });
        });
    },
  );
  eventsReq.on('error', () => undefined);
  eventsReq.end();
  try {
    cluster = await startCluster({ agents: 0, agentResources: 'cpus:8;mem:8192' });
    const agent = await cluster.addAgent('agent-1', [
      '--containerizers',
      'docker,mesos',
      '--docker_socket',
      docker.socket,
      '--docker_remove_delay',
      '0secs',
      '--log_level',
      'debug',
    ]);
    const offsets = new Map<string, number[]>();
    for (let i = 0; i <= runs; i++) {
      const marks: Mark[] = [];
      const masterFrom = cluster.master.lines.length;
      const agentFrom = agent.lines.length;
      const eventsFrom = events.length;
      const started = now();
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
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      if (child.stderr !== null)
        createInterface({ input: child.stderr }).on('line', (line) =>
          marks.push({
            at: now(),
            what: `cli: ${line.replace(/agora-run-[0-9a-f]+/g, 'T').slice(0, 60)}`,
          }),
        );
      const [code] = await once(child, 'exit');
      marks.push({ at: now(), what: 'cli: exit' });
      if (code !== 0) throw new Error(`agora run exited ${code}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const [who, lines] of [
        ['master', cluster.master.lines.slice(masterFrom)],
        ['agent', agent.lines.slice(agentFrom)],
      ] as const)
        for (const line of lines)
          if (typeof line.time === 'string')
            marks.push({
              at: Date.parse(line.time),
              what: `${who}: ${String(line.msg)}${line.state ? ` ${line.state}` : ''}${line.path ? ` ${line.method} ${line.path}` : ''}`,
            });
      marks.push(...events.slice(eventsFrom));
      if (i === 0) continue; // warm-up
      const seen = new Map<string, number>();
      for (const mark of marks.sort((a, b) => a.at - b.at)) {
        const n = (seen.get(mark.what) ?? 0) + 1;
        seen.set(mark.what, n);
        const key = n === 1 ? mark.what : `${mark.what} #${n}`;
        const list = offsets.get(key) ?? [];
        list.push(mark.at - started);
        offsets.set(key, list);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const rows = [...offsets.entries()]
      .map(([what, xs]) => ({ what, ms: median(xs), n: xs.length }))
      .sort((a, b) => a.ms - b.ms);
    for (const row of rows)
      process.stdout.write(`${row.ms.toFixed(1).padStart(8)}  ${row.what} (${row.n})\n`);
    process.stdout.write(
      `load ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after\n`,
    );
    return 0;
  } finally {
    eventsReq.destroy();
    await cluster?.stop();
    await docker.stop();
  }
}

process.exitCode = await main();

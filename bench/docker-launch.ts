// The Docker containerizer's own part of a task's start (#11), without Agora's path to a task
// (CLI, subscribe, offer, ACCEPT, status updates): in one process, against a dockerd of its
// own, alternating round by round so that load hits every variant alike:
//
//   cli            `docker run -d --net none IMG sleep 100`: the floor bench:docker compares with
//   api            create + start over the Engine API, the floor's own body: dockerd's part alone
//   api-task       create + attach + start with the body the agent makes for a task (limits,
//                  the sandbox's bind mount, labels, MESOS_* variables), one call after another
//   containerizer  DockerContainerizer.launch() to its resolve (the agent's RUNNING point)
//
//   node --import tsx bench/docker-launch.ts [--runs N] [--execs N] [--baseline <other src/>]
//
// Each container runs `sleep 100` and is removed between rounds (not timed). Prints the median
// wall ms per variant, this process's CPU ms per launch (ours: the client side), and dockerd's
// with its containerd (theirs), from /proc: CPU is what other engineers' load disturbs least.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { DockerContainerizer } from '../src/containerizer/docker-containerizer.js';
import { planDockerCreate } from '../src/containerizer/docker-create.js';
import { DockerEngine } from '../src/containerizer/docker-engine.js';
import { dockerName, planDockerRun } from '../src/containerizer/docker-plan.js';
import type { LaunchSpec } from '../src/containerizer/index.js';
import { Resources } from '../src/resources/index.js';
import { DOCKER_CLI, startDocker } from '../test/integration/docker-harness.js';
import { descendants } from '../test/integration/harness.js';

const run = promisify(execFile);

function cpuMsOf(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      for (const i of [11, 12, 13, 14]) ticks += Number(fields[i] ?? 0);
    } catch {
      // Gone.
    }
  }
  return ticks * 10;
}

const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '15' },
      // Commands run in one container each way: `docker exec` (the CLI) and over the API.
      execs: { type: 'string', default: '20' },
      // Only the paired `true` tasks through this containerizer and the baseline's.
      'paired-only': { type: 'boolean', default: false },
      // Another checkout's src/ (its containerizer runs beside this one's, same dockerd).
      baseline: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const docker = await startDocker();
  const dir = mkdtempSync(join(tmpdir(), 'agora-dl-'));
  const engine = new DockerEngine(docker.socket);
  const containerizer = new DockerContainerizer({
    docker: DOCKER_CLI,
    socket: docker.socket,
    removeDelayMs: 0,
    killOrphans: false,
    workDir: dir,
    warn: () => undefined,
  });
  const baselineContainerizer =
    values.baseline === undefined
      ? undefined
      : new (
          (await import(join(values.baseline, 'containerizer', 'docker-containerizer.ts'))) as {
            DockerContainerizer: typeof DockerContainerizer;
          }
        ).DockerContainerizer({
          docker: DOCKER_CLI,
          socket: docker.socket,
          removeDelayMs: 0,
          killOrphans: false,
          workDir: dir,
          warn: () => undefined,
        });
  const daemonPids = () => [docker.pid, ...descendants(docker.pid)];
  const spec = (command = ['sleep', '100']): LaunchSpec => {
    const containerId = randomUUID();
    const sandbox = join(dir, 'sandboxes', containerId);
    const runtimeDir = join(dir, 'runs', containerId);
    mkdirSync(sandbox, { recursive: true });
    mkdirSync(runtimeDir, { recursive: true });
    return {
      containerId,
      sandbox,
      runtimeDir,
      command: { shell: false, value: command[0] ?? 'true', arguments: command.slice(1) },
      environment: {
        MESOS_SANDBOX: sandbox,
        MESOS_TASK_ID: containerId,
        MESOS_FRAMEWORK_ID: 'fw',
        MESOS_AGENT_ID: 'agent',
      },
      resources: Resources.parse('cpus:0.1;mem:32'),
      container: { type: 'DOCKER', docker: { image: docker.image, network: 'NONE' } },
      owner: { agentId: 'agent', frameworkId: 'fw', taskId: containerId },
      volumes: [],
    };
  };
  const steps: [number, number, number][] = [];
  const cleanups = new Map<string, () => Promise<void>>();
  type Variant = { readonly name: string; readonly launch: () => Promise<string> };
  const variants: Variant[] = [
    {
      name: 'cli: docker run -d',
      launch: async () => {
        const name = `dl-${randomUUID()}`;
        await run(DOCKER_CLI, [
          '-H',
          `unix://${docker.socket}`,
          'run',
          '-d',
          '--name',
          name,
          '--net',
          'none',
          docker.image,
          'sleep',
          '100',
        ]);
        return name;
      },
    },
    {
      // bench:docker's floor: the options the agent gives dockerd for a task, `/bin/sh -c true`.
      name: "cli: docker run -d, a task's options",
      launch: async () => {
        const s = spec();
        const plan = planDockerRun({
          container: s.container ?? {},
          command: { shell: true, value: 'true' },
          containerId: s.containerId,
          sandbox: s.sandbox,
          resources: s.resources,
          environment: s.environment,
          labels: { 'agora.container_id': s.containerId, 'agora.work_dir': dir },
          persistentVolumes: [],
        });
        if (plan.kind !== 'run') throw new Error('bad plan');
        await run(DOCKER_CLI, ['-H', `unix://${docker.socket}`, 'run', '-d', ...plan.args], {
          env: { ...process.env, ...plan.env },
        });
        return plan.name;
      },
    },
    {
      name: 'api: create + start, the floor body',
      launch: async () => {
        const name = `dl-${randomUUID()}`;
        await engine.create(name, {
          Image: docker.image,
          Cmd: ['sleep', '100'],
          Env: [],
          Labels: {},
          HostConfig: { NetworkMode: 'none' },
        });
        await engine.start(name);
        return name;
      },
    },
    ...(
      [
        ['+ attach', {}, true],
        [
          '+ cpu and mem limits',
          {
            CpuShares: 102,
            CpuPeriod: 100000,
            CpuQuota: 10000,
            Memory: 33554432,
            MemorySwap: 33554432,
          },
          false,
        ],
        ['+ bind mount', 'bind', false],
      ] as const
    ).map(([what, host, isAttached]) => ({
      name: `api: floor body ${what}`,
      launch: async () => {
        const name = `dl-${randomUUID()}`;
        const sandbox = join(dir, 'sandboxes', name);
        mkdirSync(sandbox, { recursive: true });
        await engine.create(name, {
          Image: docker.image,
          Cmd: ['sleep', '100'],
          Env: [],
          Labels: {},
          HostConfig: {
            NetworkMode: 'none',
            ...(host === 'bind' ? { Binds: [`${sandbox}:/mnt/mesos/sandbox`] } : host),
          },
        });
        const output = isAttached ? await engine.attach(name, false) : undefined;
        await engine.start(name);
        output?.destroy();
        return name;
      },
    })),
    {
      name: "api: create + attach + start, a task's body",
      launch: async () => {
        const s = spec();
        const plan = planDockerRun({
          container: s.container ?? {},
          command: s.command,
          containerId: s.containerId,
          sandbox: s.sandbox,
          resources: s.resources,
          environment: s.environment,
          labels: { 'agora.container_id': s.containerId, 'agora.work_dir': dir },
          persistentVolumes: [],
        });
        if (plan.kind !== 'run') throw new Error('bad plan');
        const create = planDockerCreate(plan.name, plan.args, plan.env);
        if (create.kind !== 'api') throw new Error('not the API path');
        const t0 = performance.now();
        await engine.create(plan.name, create.body);
        const t1 = performance.now();
        const output = await engine.attach(plan.name, false);
        const t2 = performance.now();
        await engine.start(plan.name);
        const t3 = performance.now();
        steps.push([t1 - t0, t2 - t1, t3 - t2]);
        output.destroy();
        return plan.name;
      },
    },
    {
      name: 'containerizer: launch()',
      launch: async () => {
        const s = spec();
        const container = await containerizer.launch(s);
        void container.terminated.catch(() => undefined);
        // Its follow ends with cleanup, which also removes it (remove delay 0).
        cleanups.set(dockerName(s.containerId), () => containerizer.cleanup(s.containerId));
        return dockerName(s.containerId);
      },
    },
  ];
  // A `true` task to its end, through each containerizer: launch() resolved (RUNNING) and
  // its `terminated` (the terminal update), from the launch.
  const toExit = (which: DockerContainerizer, label: string): Variant => ({
    name: `${label}: \`true\` → exit`,
    launch: async () => {
      const s = spec(['true']);
      const started = performance.now();
      const container = await which.launch(s);
      const runningMs = performance.now() - started;
      await container.terminated;
      exits.get(label)?.push([runningMs, performance.now() - started]);
      cleanups.set(dockerName(s.containerId), () => which.cleanup(s.containerId));
      return dockerName(s.containerId);
    },
  });
  const exits = new Map<string, [number, number][]>([
    ['this', []],
    ['baseline', []],
  ]);
  if (values['paired-only']) variants.length = 0;
  variants.push(toExit(containerizer, 'this'));
  if (baselineContainerizer !== undefined) {
    variants.push(toExit(baselineContainerizer, 'baseline'));
    variants.push({
      name: 'baseline containerizer: launch()',
      launch: async () => {
        const s = spec();
        const container = await baselineContainerizer.launch(s);
        void container.terminated.catch(() => undefined);
        cleanups.set(dockerName(s.containerId), () => baselineContainerizer.cleanup(s.containerId));
        return dockerName(s.containerId);
      },
    });
  }
  const wall = variants.map(() => [] as number[]);
  const ours = variants.map(() => [] as number[]);
  const theirs = variants.map(() => [] as number[]);
  try {
    for (let round = -1; round < runs; round++) {
      // Odd rounds run the variants in reverse: none always follows the same one.
      const order = [...variants.entries()];
      if (round % 2 === 1) order.reverse();
      for (const [i, variant] of order) {
        const pids = daemonPids();
        const theirsBefore = cpuMsOf(pids);
        const oursBefore = ownCpuMs();
        const started = performance.now();
        const name = await variant.launch();
        const ms = performance.now() - started;
        const oursMs = ownCpuMs() - oursBefore;
        const theirsMs = cpuMsOf(pids) - theirsBefore;
        await (cleanups.get(name) ?? (() => engine.remove(name)))();
        cleanups.delete(name);
        if (round < 0) continue; // warm-up
        wall[i]?.push(ms);
        ours[i]?.push(oursMs);
        theirs[i]?.push(theirsMs);
      }
    }
    process.stdout.write(
      `${'variant'.padEnd(46)}${'wall ms'.padStart(9)}${'ours cpu'.padStart(10)}${'dockerd cpu'.padStart(13)}\n`,
    );
    for (const [i, variant] of variants.entries())
      process.stdout.write(
        `${variant.name.padEnd(46)}${median(wall[i] ?? [])
          .toFixed(1)
          .padStart(9)}${median(ours[i] ?? [])
          .toFixed(1)
          .padStart(10)}${median(theirs[i] ?? [])
          .toFixed(1)
          .padStart(13)}\n`,
      );
    process.stdout.write(
      `a task's body, per call: create ${median(steps.map((x) => x[0])).toFixed(1)}, attach ${median(steps.map((x) => x[1])).toFixed(1)}, start ${median(steps.map((x) => x[2])).toFixed(1)} ms\n`,
    );
    for (const [label, xs] of exits)
      if (xs.length > 0)
        process.stdout.write(
          `${label} containerizer, \`true\`: launch() resolved ${median(xs.map((x) => x[0])).toFixed(1)} ms, terminated ${median(xs.map((x) => x[1])).toFixed(1)} ms (medians)\n`,
        );
    const these = exits.get('this') ?? [];
    const those = exits.get('baseline') ?? [];
    if (those.length === these.length && those.length > 0) {
      const d = (k: 0 | 1) => these.map((x, i) => x[k] - (those[i]?.[k] ?? 0));
      process.stdout.write(
        `this − baseline per round (median): resolved ${median(d(0)).toFixed(1)} ms, terminated ${median(d(1)).toFixed(1)} ms\n`,
      );
    }
    // A check's probe each way, in one running container: CPU per command (the CLI's from
    // the shell's \`times\` of its children, ours from this process) and wall time.
    const execs = Number(values.execs);
    if (execs > 0) {
      const s = spec();
      await containerizer.launch(s);
      const name = dockerName(s.containerId);
      const script = `for i in $(seq ${execs}); do ${DOCKER_CLI} -H unix://${docker.socket} exec -i ${name} true </dev/null || exit 1; done; times`;
      const cliStarted = performance.now();
      const { stdout } = await run('/bin/bash', ['-c', script]);
      const cliMs = (performance.now() - cliStarted) / execs;
      // bash's `times`: its own user/sys, then its children's: "0m0.123s 0m0.045s".
      const seconds = (stdout.trim().split('\n')[1] ?? '')
        .split(' ')
        .map((t) => /(\d+)m([\d.]+)s/.exec(t))
        .reduce((sum, m) => sum + (m === null ? 0 : Number(m[1]) * 60 + Number(m[2])), 0);
      const oursBefore = ownCpuMs();
      const apiStarted = performance.now();
      for (let i = 0; i < execs; i++)
        await containerizer.exec(s.containerId, ['true'], { signal: AbortSignal.timeout(30_000) });
      const apiMs = (performance.now() - apiStarted) / execs;
      const apiCpuMs = (ownCpuMs() - oursBefore) / execs;
      await containerizer.cleanup(s.containerId);
      process.stdout.write(
        `a check's command (\`true\`), per run over ${execs}: docker exec ${cliMs.toFixed(1)} ms wall, ${((seconds * 1000) / execs).toFixed(1)} ms CPU (the CLI); over the API ${apiMs.toFixed(1)} ms wall, ${apiCpuMs.toFixed(1)} ms CPU (this process)\n`,
      );
    }
    process.stdout.write(
      `${runs} rounds (medians); 1-min load ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after\n`,
    );
    return 0;
  } finally {
    containerizer.close();
    baselineContainerizer?.close();
    await docker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();

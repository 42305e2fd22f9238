// Docker containerizer benchmark (#11): what Agora adds to `docker run`.
//
//   npm run bench:docker [-- --runs N] [-- --tasks N] [-- --json] [-- --baseline <bin/agora.js>]
//
// --baseline: another build's master, agent and `agora run` (the bin/agora.js given) beside
// this one's on the same dockerd, one task on each per round, order alternating.
//
// A dockerd of its own (test/integration/docker-harness.ts: own data root and socket, the
// busybox test image), a master and an agent with --containerizers=docker,mesos, all real
// processes on this machine. Two parts, each beside its floor, `docker run` alone against
// the same daemon:
//
// 1. Latency (as bench:latency, from the CLI's spawn): `agora run --docker-image IMG -- true`
//    to the CLI's TASK_RUNNING line and to its exit, one at a time. Floors: the same container
//    by `docker run`, from the Go CLI's spawn to its exit: the very options the agent gives
//    dockerd for that task (its plan: 0.1 cpu and 32 MB as limits, the sandbox's bind mount,
//    the MESOS_* variables, the labels, `/bin/sh -c true`), `-d` (returns once it runs) against
//    TASK_RUNNING, attached (returns at its exit) against the exit; no `--rm`, as Agora removes
//    its container after the task's end, off the timed path. The floors of the passes before
//    (a bare `sleep 100` container; `--rm`) are printed beside them. Every `agora run` (this
//    build's and a baseline's) runs without NODE_EXTRA_CA_CERTS, as bench:latency's rows do:
//    Node 20 parses the CA bundle it names at start-up (~40 ms here), the Go CLI never reads
//    it; where the variable is set, one more run per round with it is a context row.
// 2. Throughput (as bench:agent): N tasks of `true` (0.1 cpu, 32 MB) launched at once by one
//    framework, first ACCEPT to the last TASK_FINISHED; floor: the same N containers by
//    `docker run` at once.
//
// Context row: the same image run by the Mesos containerizer itself (`--containerizer mesos`,
// `mesos.image` from a local registry directory, an overlay rootfs per task), no dockerd.
// CPU row: the agent's CPU (with its children: the launcher, shims and any docker CLI it
// runs) per DOCKER task over the throughput part, from /proc; less disturbed by other load
// than the wall times. The agent creates, attaches, starts and waits over the Engine API;
// only tasks with parameters the API path cannot express run the docker CLI.
//
// Goal (#11): Agora adds at most 20% to `docker run`'s own time. Ctrl-C or a failure stops
// everything it started, by PID, and removes its files.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs, promisify } from 'node:util';
import { DockerEngine } from '../src/containerizer/docker-engine.js';
import { DOCKER_CLI, startDocker } from '../test/integration/docker-harness.js';
import { AGORA, type Cluster, descendants, startCluster } from '../test/integration/harness.js';
import { writeBusyboxImage } from '../test/integration/image-archive.js';
import { TaskFramework } from '../test/integration/task-framework.js';
import { taskDockerRun } from './docker-floor.js';

const run = promisify(execFile);
const AGENT_RESOURCES = 'cpus:8;mem:8192';
const GOAL_OVERHEAD = 0.2;

const median = (values: readonly number[]) => quantile(values, 0.5);
const mean = (values: readonly number[]) =>
  values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/**
 * The CLI's environment: this one's without NODE_EXTRA_CA_CERTS, as bench:latency measures
 * (bench/README.md). With it set, Node 20 parses the whole CA bundle before any JavaScript
 * runs (~40 ms here, #7), though `agora run` makes no TLS connection; the Go CLI of the floor
 * never reads it. What it costs is printed as a context row of its own.
 */
const CA_VARIABLE = 'NODE_EXTRA_CA_CERTS';
const { [CA_VARIABLE]: _ca, ...CLI_ENV } = process.env;

/** ms from spawn to the CLI's TASK_RUNNING line and to its exit; `cli`: whose bin/agora.js. */
async function agoraRunOnce(
  masterUrl: string,
  image: string | undefined,
  isMesosImage = false,
  cli = AGORA,
  env: NodeJS.ProcessEnv = CLI_ENV,
): Promise<{ running: number; exited: number }> {
  const started = performance.now();
  const container =
    image === undefined
      ? []
      : isMesosImage
        ? ['--docker-image', image, '--containerizer', 'mesos']
        : ['--docker-image', image, '--network', 'none'];
  const child = spawn(
    process.execPath,
    [cli, 'run', '--master', masterUrl, ...container, '--', 'true'],
    { stdio: ['ignore', 'ignore', 'pipe'], env },
  );
  let running = Number.NaN;
  if (child.stderr !== null)
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (/is TASK_RUNNING/.test(line)) running = performance.now() - started;
    });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`agora run exited ${code}`);
  return { running, exited: performance.now() - started };
}

/** CPU ms of a process and its live descendants, with what they reaped (/proc stat 14-17). */
function treeCpuMs(pid: number): number {
  let ticks = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      for (const i of [11, 12, 13, 14]) ticks += Number(fields[i] ?? 0);
    } catch {
      // Gone while we looked.
    }
  }
  return (ticks * 1000) / 100;
}

interface Baseline {
  readonly masterUrl: string;
  readonly agentPid: number;
  stop(): Promise<void>;
}

/** Another build's master and agent (its bin/agora.js), stopped by PID. */
async function startBaseline(
  cli: string,
  agentArgs: readonly string[],
  workDir: string,
): Promise<Baseline> {
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const start = async (args: readonly string[]) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child);
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${cli} ${args[0]}: no 'listening'`)),
        30_000,
      );
      child.once('exit', (code) => reject(new Error(`${cli} ${args[0]} exited ${code}`)));
      if (child.stdout !== null)
        createInterface({ input: child.stdout }).on('line', (line) => {
          let parsed: { msg?: unknown; url?: unknown } = {};
          try {
            parsed = JSON.parse(line) as typeof parsed;
          } catch {
            return;
          }
          if (parsed.msg === 'listening' && typeof parsed.url === 'string') {
            clearTimeout(timer);
            resolve(parsed.url);
          }
        });
    });
    return { url, pid: child.pid ?? -1 };
  };
  try {
    // As this build's master below logs (info): the pairing compares builds, not log levels.
    const master = await start([
      'master',
      '--port',
      '0',
      '--registry',
      'in_memory',
      '--log_level',
      'info',
    ]);
    const agent = await start([
      'agent',
      '--master',
      master.url,
      '--port',
      '0',
      '--work_dir',
      workDir,
      '--resources',
      AGENT_RESOURCES,
      '--switch_user=false',
      ...agentArgs,
    ]);
    return { masterUrl: master.url, agentPid: agent.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '15' },
      tasks: { type: 'string', default: '30' },
      json: { type: 'boolean', default: false },
      baseline: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const tasks = Number(values.tasks);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(tasks) || tasks < 1 || tasks > 80) {
    process.stderr.write('docker-bench: --runs ≥ 1, --tasks from 1 to 80\n');
    return 2;
  }
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const docker = await startDocker();
  const imageDir = mkdtempSync(join(tmpdir(), 'agora-bench-img-'));
  const MESOS_IMAGE = 'agora-bench/busybox:1';
  let cluster: Cluster | undefined;
  let framework: TaskFramework | undefined;
  let baseline: Baseline | undefined;
  const stop = async () => {
    await framework?.stop().catch(() => undefined);
    await baseline?.stop();
    await cluster?.stop();
    await docker.stop();
    rmSync(imageDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    const cli = (args: readonly string[], env: Readonly<Record<string, string>> = {}) =>
      run(DOCKER_CLI, ['-H', `unix://${docker.socket}`, ...args], {
        env: { ...process.env, ...env },
      });
    writeBusyboxImage({
      registryDir: join(imageDir, 'registry'),
      repository: 'agora-bench/busybox',
      tag: '1',
      scratch: join(imageDir, 'scratch'),
      config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] },
    });
    // The master at its default level, as the agent is and as users run it (startCluster's is
    // at debug for the tests' sake: a JSON line per request, parsed by this process too).
    cluster = await startCluster({
      agents: 0,
      agentResources: AGENT_RESOURCES,
      masterArgs: ['--log_level', 'info'],
    });
    const agentArgs = [
      '--containerizers',
      'docker,mesos',
      '--docker',
      DOCKER_CLI,
      '--docker_socket',
      docker.socket,
      '--docker_remove_delay',
      '0secs',
      '--image_providers',
      'docker',
      '--docker_registry',
      join(imageDir, 'registry'),
      '--docker_store_dir',
      join(imageDir, 'store'),
      '--isolation',
      'cgroups/cpu,cgroups/mem,filesystem/linux,docker/runtime',
    ];
    await cluster.addAgent('agent-1', agentArgs);
    // With --baseline, another build's master and agent beside these, on the same dockerd,
    // each round running one task on each: paired before/after numbers under the same load.
    if (values.baseline !== undefined)
      baseline = await startBaseline(
        values.baseline,
        // A store of its own: two agents do not share one.
        agentArgs.map((arg, i) =>
          agentArgs[i - 1] === '--docker_store_dir' ? join(imageDir, 'baseline-store') : arg,
        ),
        join(imageDir, 'baseline'),
      );
    // Every timed run starts on an idle dockerd: the one before it has no container left (an
    // Agora task's is removed by its agent after the exit; a floor's by `rm -f`) and a short
    // breath has passed. Without it, a run that followed an Agora task shared the machine with
    // that task's removal: in paired rounds whichever build went second was ~120 ms slower.
    const engine = new DockerEngine(docker.socket);
    const idle = async () => {
      const deadline = performance.now() + 30_000;
      while ((await engine.list({})).length > 0) {
        if (performance.now() > deadline)
          throw new Error('dockerd still has containers after 30 s');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    };
    // 1. Latency, one at a time, after a warm-up of each (the first also waits for the agent).
    await agoraRunOnce(cluster.masterUrl, docker.image);
    await cli(['run', '--rm', '--net', 'none', docker.image, 'true']);
    await agoraRunOnce(cluster.masterUrl, MESOS_IMAGE, true);
    if (baseline !== undefined)
      await agoraRunOnce(baseline.masterUrl, docker.image, false, values.baseline);
    const agentPidOf = cluster.agents[0]?.pid ?? -1;
    const paired: {
      ours: { running: number; exited: number; cpuMs: number };
      theirs: { running: number; exited: number; cpuMs: number };
    }[] = [];
    const agora: { running: number; exited: number }[] = [];
    // The same run with the environment as it is here (NODE_EXTRA_CA_CERTS set), for context.
    const withCa: { running: number; exited: number }[] = [];
    const floorRunning: number[] = [];
    const floorExited: number[] = [];
    const bareRunning: number[] = [];
    const bareExited: number[] = [];
    // Context: the same CLI with a command task (no container), Agora's own fixed cost.
    const plain: { running: number; exited: number }[] = [];
    const mesosImage: { running: number; exited: number }[] = [];
    for (let i = 0; i < runs; i++) {
      if (baseline !== undefined) {
        // Which goes first alternates, so neither always follows the other's cleanup.
        // Each side with its own build's `agora run` too: the client's part of the path
        // (its start, its reads of the output, its end) is the build's as much as the agent's.
        const one = async (url: string, pid: number, cli: string) => {
          await idle();
          const before = treeCpuMs(pid);
          const times = await agoraRunOnce(url, docker.image, false, cli);
          // The removal after the exit is the agent's work for this task too.
          await idle();
          return { ...times, cpuMs: treeCpuMs(pid) - before };
        };
        const b = baseline;
        const theirCli = values.baseline ?? AGORA;
        if (i % 2 === 0) {
          const ours = await one(cluster.masterUrl, agentPidOf, AGORA);
          paired.push({ ours, theirs: await one(b.masterUrl, b.agentPid, theirCli) });
        } else {
          const theirs = await one(b.masterUrl, b.agentPid, theirCli);
          paired.push({ ours: await one(cluster.masterUrl, agentPidOf, AGORA), theirs });
        }
      }
      await idle();
      agora.push(await agoraRunOnce(cluster.masterUrl, docker.image));
      if (process.env[CA_VARIABLE] !== undefined) {
        await idle();
        withCa.push(await agoraRunOnce(cluster.masterUrl, docker.image, false, AGORA, process.env));
      }
      await idle();
      plain.push(await agoraRunOnce(cluster.masterUrl, undefined));
      await idle();
      mesosImage.push(await agoraRunOnce(cluster.masterUrl, MESOS_IMAGE, true));
      // The floors: the task's own container (the same options and command) by `docker run`,
      // detached (returns once it runs) and attached (returns at its exit; Agora attaches
      // too, and removes its container after the task's end, off the timed path, so no --rm).
      const detached = taskDockerRun(docker.image, imageDir, 'true');
      await idle();
      floorRunning.push(await timed(() => cli(['run', '-d', ...detached.args], detached.env)));
      await cli(['rm', '-f', detached.name]);
      const attached = taskDockerRun(docker.image, imageDir, 'true');
      await idle();
      floorExited.push(await timed(() => cli(['run', ...attached.args], attached.env)));
      await cli(['rm', '-f', attached.name]);
      // The floors of the passes before (a bare container, `sleep 100`, and `--rm`), for
      // comparison with them.
      const name = `bench-floor-${i}`;
      await idle();
      bareRunning.push(
        await timed(() =>
          cli(['run', '-d', '--name', name, '--net', 'none', docker.image, 'sleep', '100']),
        ),
      );
      await cli(['rm', '-f', name]);
      await idle();
      bareExited.push(
        await timed(() => cli(['run', '--rm', '--net', 'none', docker.image, 'true'])),
      );
    }
    // 2. Throughput: N at once.
    framework = await TaskFramework.start(cluster.masterUrl, 'docker-bench');
    const specs: Record<
      string,
      { command: { value: string }; container: Record<string, unknown> }
    > = {};
    for (let i = 0; i < tasks; i++)
      specs[`t${i}`] = {
        command: { value: 'true' },
        container: { type: 'DOCKER', docker: { image: docker.image, network: 'NONE' } },
      };
    const agentPid = cluster.agents[0]?.pid ?? -1;
    await idle();
    const cpuBeforeMs = treeCpuMs(agentPid);
    const throughputStarted = performance.now();
    await framework.launch(specs);
    for (let i = 0; i < tasks; i++) await framework.update(`t${i}`, 'TASK_FINISHED', 300_000);
    const agoraSeconds = (performance.now() - throughputStarted) / 1000;
    // Their removals counted too, and done before the floor's N start.
    await idle();
    const agentCpuPerTaskMs = (treeCpuMs(agentPid) - cpuBeforeMs) / tasks;
    // The same N containers by `docker run` (attached, as above), removed after the timing.
    const floorRuns = Array.from({ length: tasks }, () =>
      taskDockerRun(docker.image, imageDir, 'true'),
    );
    const floorSeconds =
      (await timed(() =>
        Promise.all(floorRuns.map((floor) => cli(['run', ...floor.args], floor.env))),
      )) / 1000;
    await cli(['rm', '-f', ...floorRuns.map((floor) => floor.name)]);
    const rows = {
      paired,
      latency: {
        agoraRunningMs: {
          p50: median(agora.map((a) => a.running)),
          p99: quantile(
            agora.map((a) => a.running),
            0.99,
          ),
        },
        withCaRunningMs: median(withCa.map((a) => a.running)),
        agoraExitedMs: {
          p50: median(agora.map((a) => a.exited)),
          p99: quantile(
            agora.map((a) => a.exited),
            0.99,
          ),
        },
        floorRunningMs: { p50: median(floorRunning), p99: quantile(floorRunning, 0.99) },
        floorExitedMs: { p50: median(floorExited), p99: quantile(floorExited, 0.99) },
        bareRunningMs: { p50: median(bareRunning), p99: quantile(bareRunning, 0.99) },
        bareExitedMs: { p50: median(bareExited), p99: quantile(bareExited, 0.99) },
        plainRunningMs: {
          p50: median(plain.map((a) => a.running)),
          p99: quantile(
            plain.map((a) => a.running),
            0.99,
          ),
        },
        mesosImageRunningMs: {
          p50: median(mesosImage.map((a) => a.running)),
          p99: quantile(
            mesosImage.map((a) => a.running),
            0.99,
          ),
        },
        mesosImageExitedMs: {
          p50: median(mesosImage.map((a) => a.exited)),
          p99: quantile(
            mesosImage.map((a) => a.exited),
            0.99,
          ),
        },
        plainExitedMs: {
          p50: median(plain.map((a) => a.exited)),
          p99: quantile(
            plain.map((a) => a.exited),
            0.99,
          ),
        },
      },
      throughput: {
        tasks,
        agoraPerSecond: tasks / agoraSeconds,
        agentCpuPerTaskMs,
        floorPerSecond: tasks / floorSeconds,
      },
    };
    const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
    const l = rows.latency;
    const t = rows.throughput;
    const over = (a: number, b: number) => `${f(((a - b) / b) * 100)}%`;
    const lines = [
      `${'metric'.padEnd(58)}${'median'.padStart(10)}${'p99'.padStart(10)}`,
      `${'agora run --docker-image: spawn → TASK_RUNNING ms'.padEnd(58)}${f(l.agoraRunningMs.p50).padStart(10)}${f(l.agoraRunningMs.p99).padStart(10)}`,
      `${"floor: docker run -d, the task's container ms".padEnd(58)}${f(l.floorRunningMs.p50).padStart(10)}${f(l.floorRunningMs.p99).padStart(10)}`,
      `${'  Agora over the floor (median)'.padEnd(58)}${over(l.agoraRunningMs.p50, l.floorRunningMs.p50).padStart(10)}`,
      `${'  (old floor: docker run -d --net none IMG sleep 100)'.padEnd(58)}${f(l.bareRunningMs.p50).padStart(10)}${over(l.agoraRunningMs.p50, l.bareRunningMs.p50).padStart(10)}`,
      ...(withCa.length === 0
        ? []
        : [
            `${`  (context: the CLI with ${CA_VARIABLE} as set here)`.padEnd(58)}${f(l.withCaRunningMs).padStart(10)}${over(l.withCaRunningMs, l.floorRunningMs.p50).padStart(10)}`,
          ]),
      `${'agora run --docker-image -- true: spawn → exit ms'.padEnd(58)}${f(l.agoraExitedMs.p50).padStart(10)}${f(l.agoraExitedMs.p99).padStart(10)}`,
      `${"floor: docker run (attached), the task's container ms".padEnd(58)}${f(l.floorExitedMs.p50).padStart(10)}${f(l.floorExitedMs.p99).padStart(10)}`,
      `${'  Agora over the floor (median)'.padEnd(58)}${over(l.agoraExitedMs.p50, l.floorExitedMs.p50).padStart(10)}`,
      `${'  (old floor: docker run --rm --net none IMG true)'.padEnd(58)}${f(l.bareExitedMs.p50).padStart(10)}${over(l.agoraExitedMs.p50, l.bareExitedMs.p50).padStart(10)}`,
      `${'context: agora run -- true (command task): → TASK_RUNNING'.padEnd(58)}${f(l.plainRunningMs.p50).padStart(10)}${f(l.plainRunningMs.p99).padStart(10)}`,
      // What the container adds to Agora's own path, beside what docker run -d takes in all.
      `${'  Docker part (docker row minus command row), / floor'.padEnd(58)}${f(l.agoraRunningMs.p50 - l.plainRunningMs.p50).padStart(10)}${`${f(((l.agoraRunningMs.p50 - l.plainRunningMs.p50) / l.floorRunningMs.p50) * 100)}%`.padStart(10)}`,
      `${'context: agora run -- true (command task): → exit'.padEnd(58)}${f(l.plainExitedMs.p50).padStart(10)}${f(l.plainExitedMs.p99).padStart(10)}`,
      `${'context: same image, --containerizer mesos: → TASK_RUNNING'.padEnd(58)}${f(l.mesosImageRunningMs.p50).padStart(10)}${f(l.mesosImageRunningMs.p99).padStart(10)}`,
      `${'context: same image, --containerizer mesos: → exit'.padEnd(58)}${f(l.mesosImageExitedMs.p50).padStart(10)}${f(l.mesosImageExitedMs.p99).padStart(10)}`,
      `${`${t.tasks} DOCKER tasks at once: finished per second`.padEnd(58)}${f(t.agoraPerSecond).padStart(10)}`,
      `${`floor: ${t.tasks} docker run (the tasks' containers) at once, /s`.padEnd(58)}${f(t.floorPerSecond).padStart(10)}`,
      `${'  Agora time over the floor'.padEnd(58)}${over(t.floorPerSecond, t.agoraPerSecond).padStart(10)}`,
      `${'agent CPU per DOCKER task (with its children) ms'.padEnd(58)}${f(t.agentCpuPerTaskMs).padStart(10)}`,
      ...(paired.length === 0
        ? []
        : [
            `baseline: ${values.baseline} (its own master and agent, same dockerd), paired rounds:`,
            `${'  this build → TASK_RUNNING / baseline'.padEnd(58)}${f(median(paired.map((p) => p.ours.running))).padStart(10)}${f(median(paired.map((p) => p.theirs.running))).padStart(10)}`,
            `${'  this build − baseline, → TASK_RUNNING (median, mean)'.padEnd(58)}${f(median(paired.map((p) => p.ours.running - p.theirs.running))).padStart(10)}${f(mean(paired.map((p) => p.ours.running - p.theirs.running))).padStart(10)}`,
            `${'  this build → exit / baseline'.padEnd(58)}${f(median(paired.map((p) => p.ours.exited))).padStart(10)}${f(median(paired.map((p) => p.theirs.exited))).padStart(10)}`,
            `${'  this build − baseline, → exit (median, mean)'.padEnd(58)}${f(median(paired.map((p) => p.ours.exited - p.theirs.exited))).padStart(10)}${f(mean(paired.map((p) => p.ours.exited - p.theirs.exited))).padStart(10)}`,
            `${'  agent CPU per task (with children), this / baseline'.padEnd(58)}${f(mean(paired.map((p) => p.ours.cpuMs))).padStart(10)}${f(mean(paired.map((p) => p.theirs.cpuMs))).padStart(10)}`,
          ]),
      `${'  goal (≤ 20% over docker run, every row above)'.padEnd(58)}${
        [
          l.agoraRunningMs.p50 / l.floorRunningMs.p50,
          l.agoraExitedMs.p50 / l.floorExitedMs.p50,
          t.floorPerSecond / t.agoraPerSecond,
        ].every((ratio) => ratio <= 1 + GOAL_OVERHEAD)
          ? 'met'
          : 'NOT met'
      }`,
      '',
      `${runs} runs each; ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GB, Node.js ${process.version}; ${new Date().toISOString().slice(0, 16).replace('T', ' ')}; 1-min load ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`docker-bench: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await stop();
  }
}

process.exitCode = await main();

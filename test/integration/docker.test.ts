// The Docker containerizer against a real dockerd of the tests' own (see
// docker-harness.ts): DOCKER tasks run in a busybox image, report their exit
// code, output, OOM kills and kills; a bridge container answers on its host
// port; a persistent volume outlives a task; an agent killed outright finds
// its containers again; and nothing is left behind.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Resource, TaskInfo } from '../../src/wire/index.js';
import { taskId } from '../../src/wire/index.js';
import { type DockerDaemon, dockerAgentFlags, freePortRun, startDocker } from './docker-harness.js';
import { type Cluster, getState, isAlive, runCli, startCluster, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

/** Host ports the agent offers: a run of free ones (docker-proxy binds them on 0.0.0.0). */
const PORT_COUNT = 4;
const agentResources = (firstPort: number) =>
  `cpus:4;mem:2048;disk:1024;disk(vol):64;ports:[${firstPort}-${firstPort + PORT_COUNT - 1}]`;

const freePorts = () => freePortRun(PORT_COUNT);
const scalar = (name: string, value: number): Resource => ({
  name,
  type: 'SCALAR',
  scalar: { value },
});
const SMALL = [scalar('cpus', 0.1), scalar('mem', 32)];

const dockerArgs = dockerAgentFlags;

function container(
  docker: DockerDaemon,
  more: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): Record<string, unknown> {
  return { type: 'DOCKER', docker: { image: docker.image, network: 'NONE', ...more }, ...top };
}

/** The file a task's run wrote in its sandbox (`runs/latest`). */
function sandboxFile(agentWorkDir: string, taskIdValue: string, name: string): string {
  const slaves = join(agentWorkDir, 'slaves');
  for (const slave of readdirSync(slaves))
    for (const framework of readdirSync(join(slaves, slave, 'frameworks'))) {
      const path = join(
        slaves,
        slave,
        'frameworks',
        framework,
        'executors',
        taskIdValue,
        'runs',
        'latest',
        name,
      );
      if (existsSync(path)) return readFileSync(path, 'utf8');
    }
  return '';
}

async function ourContainers(docker: DockerDaemon, workDir: string) {
  const filters = encodeURIComponent(JSON.stringify({ label: [`agora.work_dir=${workDir}`] }));
  return (await docker.get(`/containers/json?all=1&filters=${filters}`)) as {
    Names: string[];
    State: string;
    Labels: Record<string, string>;
  }[];
}

describe('the Docker containerizer with a real dockerd', () => {
  let docker: DockerDaemon;
  let cluster: Cluster;
  let framework: TaskFramework;
  let agentDir: string;
  let firstPort: number;
  before(async () => {
    docker = await startDocker({ bridge: true });
    firstPort = await freePorts();
    cluster = await startCluster({ agents: 0, agentResources: agentResources(firstPort) });
    agentDir = join(cluster.workDir, 'agent-1');
    await cluster.addAgent('agent-1', dockerArgs(docker));
    await waitFor('the agent to register', async () =>
      (await getState(cluster.masterUrl)).slaves.some((s) => s.active) ? true : undefined,
    );
    framework = await TaskFramework.start(cluster.masterUrl, 'docker', { role: 'vol' });
  });
  after(async () => {
    await framework?.stop();
    await cluster?.stop();
    await docker?.stop();
  });

  test('a container runs its command, its exit code comes back and its output is in the sandbox', async () => {
    await framework.launch({
      exits: {
        command: {
          value:
            'echo "out $MESOS_TASK_ID $MESOS_SANDBOX"; ls /mnt/mesos/sandbox; echo err >&2; exit 3',
        },
        container: container(docker),
      },
      entry: {
        command: { shell: false, value: 'echo', arguments: ['from', 'arguments'] },
        container: container(docker),
      },
    });
    const failed = await framework.update('exits', 'TASK_FAILED', 30_000);
    assert.match(failed.message ?? '', /exited with status 3/);
    const stdout = sandboxFile(agentDir, 'exits', 'stdout');
    assert.match(stdout, /^out exits \/mnt\/mesos\/sandbox$/m);
    assert.match(stdout, /^stdout$/m, 'the sandbox is mounted at /mnt/mesos/sandbox');
    assert.match(sandboxFile(agentDir, 'exits', 'stderr'), /^err$/m);
    await framework.update('entry', 'TASK_FINISHED', 30_000);
    assert.match(sandboxFile(agentDir, 'entry', 'stdout'), /^from arguments$/m);
  });

  test("a container's output arrives whole and in order, a TTY's all in stdout", async () => {
    await framework.launch({
      // ~110 kB in thousands of log frames, stdout and stderr interleaved.
      chatty: {
        command: { value: 'seq 1 20000; echo done >&2; seq 20001 20100' },
        container: container(docker),
      },
      tty: {
        command: { value: 'echo on the terminal; echo err too >&2' },
        container: container(docker, { parameters: [{ key: 'tty', value: 'true' }] }),
      },
    });
    await framework.update('chatty', 'TASK_FINISHED', 30_000);
    const expected = `${Array.from({ length: 20_100 }, (_, i) => i + 1).join('\n')}\n`;
    assert.equal(sandboxFile(agentDir, 'chatty', 'stdout'), expected);
    assert.equal(sandboxFile(agentDir, 'chatty', 'stderr'), 'done\n');
    await framework.update('tty', 'TASK_FINISHED', 30_000);
    assert.match(sandboxFile(agentDir, 'tty', 'stdout'), /^on the terminal\r?\nerr too\r?\n$/);
  });

  test("a container's command health check runs inside it", async () => {
    await framework.launch({
      checked: {
        command: { value: 'exec sleep 1000' },
        container: container(docker),
        health_check: {
          type: 'COMMAND',
          // True only inside the container: the host has no /mnt/mesos/sandbox.
          command: { value: 'test -d /mnt/mesos/sandbox && test -x /bin/busybox' },
          delay_seconds: 0,
          interval_seconds: 0.5,
          grace_period_seconds: 10,
          consecutive_failures: 2,
        },
      },
    });
    const healthy = await waitFor('the health check to pass', () =>
      framework.updates('checked').find((u) => u.healthy === true),
    );
    assert.equal(healthy.state, 'TASK_RUNNING');
    // `agora task exec` goes in too, its input passed on.
    const exec = runCli(
      [
        'task',
        'exec',
        '--master',
        cluster.masterUrl,
        '-i',
        'checked',
        '--',
        'sh',
        '-c',
        'test -d /mnt/mesos/sandbox && exit 5',
      ],
      { timeoutMs: 60_000 },
    );
    const execResult = await exec.result;
    assert.equal(execResult.code, 5, execResult.stderr);
    await framework.connection.kill(taskId('checked'));
    await framework.update('checked', 'TASK_KILLED', 30_000);
  });

  test('agora run --docker-image runs a command in a container and exits with its status', async () => {
    const result = await runCli(
      [
        'run',
        '--master',
        cluster.masterUrl,
        '--docker-image',
        docker.image,
        '--network',
        'bridge',
        '-p',
        '80',
        '--',
        'echo "in $MESOS_SANDBOX"; exit 7',
      ],
      { timeoutMs: 60_000 },
    ).result;
    assert.equal(result.code, 7, result.stderr);
    assert.match(result.stdout, /^in \/mnt\/mesos\/sandbox$/m);
    assert.match(result.stderr, new RegExp(`container port 80 is [^:]+:${firstPort}\\b`));
  });

  test("a container's output is readable through runs/latest from TASK_STARTING on, before it runs", async () => {
    const { slaves } = await getState(cluster.masterUrl);
    const agent = slaves.find((s) => s.active);
    assert.ok(agent !== undefined);
    const agentUrl = `http://${agent.pid.replace(/^slave\(1\)@/, '')}`;
    const frameworkId = framework.connection.frameworkId.value;
    // dockerd takes 0.1-0.5 s between the create the agent asks for (TASK_STARTING) and the
    // started container (TASK_RUNNING); a read in between is what `agora run`'s output pumps
    // make. A run in which dockerd was done before the read answered judges nothing: another.
    for (let attempt = 1; ; attempt++) {
      const id = `latest-early-${attempt}`;
      await framework.launch({
        [id]: { command: { value: 'true' }, container: container(docker) },
      });
      await waitFor(`${id} to be TASK_STARTING`, () =>
        framework.updates(id).some((s) => s.state === 'TASK_STARTING') ? true : undefined,
      );
      const url = new URL('/files/read', agentUrl);
      url.searchParams.set('path', `/frameworks/${frameworkId}/executors/${id}/runs/latest/stdout`);
      url.searchParams.set('offset', '0');
      const answer = await fetch(url);
      const answeredS = Date.now() / 1000;
      const body = await answer.text();
      const running = await framework.update(id, 'TASK_RUNNING', 30_000);
      await framework.update(id, 'TASK_FINISHED', 30_000);
      if (answeredS >= (running.timestamp ?? 0) && attempt < 3) continue;
      assert.ok(answeredS < (running.timestamp ?? 0), 'the read came before TASK_RUNNING');
      assert.equal(answer.status, 200, body);
      assert.deepEqual(JSON.parse(body), { offset: 0, data: '' });
      break;
    }
  });

  test('a container over its memory is OOM-killed and reported as a memory limitation', async () => {
    await framework.launch({
      hog: { command: { value: 'tail /dev/zero' }, container: container(docker) },
    });
    const failed = await framework.update('hog', 'TASK_FAILED', 60_000);
    assert.equal(failed.reason, 'REASON_CONTAINER_LIMITATION_MEMORY');
    assert.equal(failed.source, 'SOURCE_AGENT');
    assert.match(failed.message ?? '', /Memory limit exceeded/);
  });

  test('a kill stops a container that ignores SIGTERM once the grace period is over', async () => {
    const graceMs = 2000;
    await framework.launch({
      stubborn: {
        command: { value: "trap '' TERM; while :; do sleep 1; done" },
        container: container(docker),
        kill_policy: { grace_period: { nanoseconds: graceMs * 1e6 } },
      },
    });
    await framework.update('stubborn', 'TASK_RUNNING', 30_000);
    const [labelled] = (await ourContainers(docker, agentDir)).filter(
      (c) => c.Labels['agora.task_id'] === 'stubborn',
    );
    assert.ok(labelled !== undefined, 'the container is labelled with its task');
    assert.equal(labelled.State, 'running');
    assert.ok(labelled.Labels['agora.framework_id'] !== undefined);
    assert.ok(labelled.Labels['agora.agent_id'] !== undefined);
    assert.match(labelled.Names[0] ?? '', /^\/mesos-/);
    const startedMs = performance.now();
    await framework.connection.kill(taskId('stubborn'));
    const killed = await framework.update('stubborn', 'TASK_KILLED', 30_000);
    const tookMs = performance.now() - startedMs;
    assert.ok(tookMs >= graceMs * 0.9, `killed after ${tookMs} ms, not before the grace`);
    assert.ok(tookMs < graceMs + 15_000, `killed after ${tookMs} ms`);
    assert.match(killed.message ?? '', /signal/i);
    await waitFor('the killed container to be removed', async () =>
      (await ourContainers(docker, agentDir)).some((c) => c.Labels['agora.task_id'] === 'stubborn')
        ? undefined
        : true,
    );
  });

  test('a bridge container with a port mapping answers on its host port', async () => {
    const hostPort = firstPort + PORT_COUNT - 1;
    await framework.launch({
      web: {
        command: {
          value:
            'mkdir -p /www && echo "hello from $MESOS_TASK_ID" > /www/index.html && exec httpd -f -p 80 -h /www',
        },
        container: container(docker, {
          network: 'BRIDGE',
          port_mappings: [{ host_port: hostPort, container_port: 80, protocol: 'tcp' }],
        }),
        resources: [
          ...SMALL,
          {
            name: 'ports',
            type: 'RANGES',
            ranges: { range: [{ begin: hostPort, end: hostPort }] },
          },
        ],
      },
    });
    await framework.update('web', 'TASK_RUNNING', 30_000);
    const body = await waitFor('httpd to answer on the host port', async () => {
      const response = await fetch(`http://127.0.0.1:${hostPort}/`).catch(() => undefined);
      return response?.ok === true ? await response.text() : undefined;
    });
    assert.equal(body.trim(), 'hello from web');
    await framework.connection.kill(taskId('web'));
    await framework.update('web', 'TASK_KILLED', 30_000);
  });

  test('bad input fails the task with a message naming the cause, and the agent runs on', async () => {
    await framework.launch({
      'no-image': {
        command: { value: 'true' },
        // A registry on a closed local port: the pull fails at once, without leaving the host.
        container: { type: 'DOCKER', docker: { image: '127.0.0.1:1/agora/missing:1' } },
      },
      'no-network': {
        command: { value: 'true' },
        container: container(
          docker,
          { network: 'USER' },
          { network_infos: [{ name: 'no-such-network' }] },
        ),
      },
      'no-port': {
        command: { value: 'true' },
        container: container(docker, {
          network: 'BRIDGE',
          port_mappings: [{ host_port: 31009, container_port: 80 }],
        }),
      },
      escape: {
        command: { value: 'true' },
        container: container(
          docker,
          {},
          { volumes: [{ container_path: 'x', host_path: '../../../../etc', mode: 'RW' }] },
        ),
      },
      unified: {
        command: { value: 'true' },
        container: { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: 'x' } } } },
      },
    });
    const expected: Record<string, RegExp> = {
      'no-image': /Failed to pull image '127\.0\.0\.1:1\/agora\/missing:1'/,
      'no-network': /network 'no-such-network' does not exist/,
      'no-port': /host port 31009 is not in the task's port resources/,
      escape: /host path '\.\.\/\.\.\/\.\.\/\.\.\/etc' escapes the sandbox/,
      unified: /asks for image 'x' and this agent runs no images/,
    };
    for (const [id, pattern] of Object.entries(expected)) {
      const failed = await framework.update(id, 'TASK_FAILED', 30_000);
      assert.equal(failed.reason, 'REASON_CONTAINER_LAUNCH_FAILED', id);
      assert.match(failed.message ?? '', pattern, id);
    }
    await framework.launch({
      fine: { command: { value: 'echo still here' }, container: container(docker) },
    });
    await framework.update('fine', 'TASK_FINISHED', 30_000);
  });

  test('a persistent volume keeps a file across two tasks until it is destroyed', async () => {
    const [slave] = (await getState(cluster.masterUrl)).slaves;
    assert.ok(slave !== undefined);
    const volume: Resource = {
      name: 'disk',
      type: 'SCALAR',
      scalar: { value: 16 },
      reservations: [{ type: 'STATIC', role: 'vol' }],
      disk: {
        persistence: { id: 'docker-vol', principal: 'test' },
        volume: { container_path: 'data', mode: 'RW' },
      },
    };
    const created = await fetch(new URL('/master/create-volumes', cluster.masterUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ slaveId: slave.id, volumes: JSON.stringify([volume]) }),
    });
    assert.equal(created.status, 202, await created.text());
    const volumeDir = join(agentDir, 'volumes', 'roles', 'vol', 'docker-vol');
    await waitFor('the agent to make the volume', () => (existsSync(volumeDir) ? true : undefined));
    const withVolume = (command: string): Partial<TaskInfo> & { command: { value: string } } => ({
      command: { value: command },
      container: container(docker),
      resources: [...SMALL, { ...volume, allocation_info: { role: 'vol' } }],
    });
    await framework.launch({ writer: withVolume('echo kept > /mnt/mesos/sandbox/data/file') });
    await framework.update('writer', 'TASK_FINISHED', 30_000);
    await framework.launch({ reader: withVolume('cat /mnt/mesos/sandbox/data/file') });
    await framework.update('reader', 'TASK_FINISHED', 30_000);
    assert.match(sandboxFile(agentDir, 'reader', 'stdout'), /^kept$/m);
    // A command task (no container) finds it in its sandbox too.
    await framework.launch({
      'command-reader': {
        command: { value: 'cat data/file && echo more >> data/file' },
        resources: [...SMALL, { ...volume, allocation_info: { role: 'vol' } }],
      },
    });
    await framework.update('command-reader', 'TASK_FINISHED', 30_000);
    assert.match(sandboxFile(agentDir, 'command-reader', 'stdout'), /^kept$/m);
    assert.equal(readFileSync(join(volumeDir, 'file'), 'utf8'), 'kept\nmore\n');
    const destroyed = await waitFor('the volume to be destroyed', async () => {
      const response = await fetch(new URL('/master/destroy-volumes', cluster.masterUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ slaveId: slave.id, volumes: JSON.stringify([volume]) }),
      });
      // 409 while the master still counts the reader's resources as used.
      return response.status === 202 ? true : undefined;
    });
    assert.ok(destroyed);
    await waitFor('the volume directory to go', () => (existsSync(volumeDir) ? undefined : true));
  });

  test('no container, network or volume is left once the agent stops', async () => {
    await framework.stop();
    await cluster.stop();
    assert.deepEqual(await docker.leftovers(), { containers: [], networks: [], volumes: [] });
  });
});

describe('the Docker containerizer with --docker_stop_timeout', () => {
  test('a container of a task without a kill policy gets the stop timeout, not the agent default', async (t) => {
    const docker = await startDocker();
    t.after(() => docker.stop());
    const cluster = await startCluster({ agents: 0, agentResources: agentResources(20_000) });
    t.after(() => cluster.stop());
    // Longer than the agent's own default grace (3 s): only the flag can explain the wait.
    const stopTimeoutMs = 6000;
    await cluster.addAgent(
      'agent-1',
      dockerArgs(docker, ['--docker_stop_timeout', `${stopTimeoutMs / 1000}secs`]),
    );
    const framework = await TaskFramework.start(cluster.masterUrl, 'docker-stop');
    t.after(() => framework.stop());
    await framework.launch({
      stubborn: {
        command: { value: "trap '' TERM; while :; do sleep 1; done" },
        container: container(docker),
      },
    });
    await framework.update('stubborn', 'TASK_RUNNING', 30_000);
    const startedMs = performance.now();
    await framework.connection.kill(taskId('stubborn'));
    await framework.update('stubborn', 'TASK_KILLED', 60_000);
    const tookMs = performance.now() - startedMs;
    assert.ok(tookMs >= stopTimeoutMs * 0.9, `killed after ${tookMs} ms, before the stop timeout`);
    await framework.stop();
    await cluster.stop();
    assert.deepEqual(await docker.leftovers(), { containers: [], networks: [], volumes: [] });
  });
});

describe('the Docker containerizer across an agent restart', () => {
  test('an agent killed outright finds its running container again, reports the one that ended, and kills orphans', async (t) => {
    const docker = await startDocker();
    t.after(() => docker.stop());
    const cluster = await startCluster({ agents: 0, agentResources: agentResources(20_000) });
    t.after(() => cluster.stop());
    const agentDir = join(cluster.workDir, 'agent-1');
    const agent = await cluster.addAgent('agent-1', dockerArgs(docker), agentDir);
    const framework = await TaskFramework.start(cluster.masterUrl, 'docker-restart');
    t.after(() => framework.stop());
    await framework.launch({
      // Over the API: it writes a numbered line every 0.1 s, before, during and after the
      // agent's absence; none may go missing from its sandbox.
      survivor: {
        command: { value: 'i=0; while :; do echo "line $i"; i=$((i+1)); sleep 0.1; done' },
        container: container(docker),
      },
      // A parameter the create request cannot express: `docker run` under a shim.
      'survivor-cli': {
        command: { value: 'exec sleep 1000' },
        container: container(docker, {
          parameters: [{ key: 'mount', value: 'type=tmpfs,destination=/scratch' }],
        }),
      },
      ender: {
        command: {
          value:
            'echo before; while [ ! -e /mnt/mesos/sandbox/go ]; do sleep 0.1; done; echo after; exit 4',
        },
        container: container(docker),
      },
    });
    await framework.update('survivor', 'TASK_RUNNING', 30_000);
    // The CLI's container, its `docker run` client, which the agent follows it through.
    const cliRunning = await framework.update('survivor-cli', 'TASK_RUNNING', 30_000);
    const clientPid = cliRunning.container_status?.executor_pid;
    assert.ok(clientPid !== undefined);
    await framework.update('ender', 'TASK_RUNNING', 30_000);
    await waitFor('the ender to say it began', () =>
      /^before$/m.test(sandboxFile(agentDir, 'ender', 'stdout')) ? true : undefined,
    );
    // An orphan: labelled as this agent's, but no task of it knows the container.
    await docker.docker([
      'run',
      '-d',
      '--name',
      'mesos-orphan',
      '--net',
      'none',
      '--label',
      `agora.work_dir=${agentDir}`,
      '--label',
      'agora.container_id=orphan',
      docker.image,
      'sleep',
      '1000',
    ]);

    agent.process.kill('SIGKILL');
    await agent.exited;
    const linesAtKill = sandboxFile(agentDir, 'survivor', 'stdout').split('\n').length;
    // Its client dies too: the restarted agent must follow the container through Docker.
    process.kill(clientPid, 'SIGKILL');
    await waitFor('the docker run client to die', () => (isAlive(clientPid) ? undefined : true));
    const before = await ourContainers(docker, agentDir);
    assert.equal(
      before.filter((c) => c.State === 'running').length,
      4,
      'containers outlive the agent',
    );
    // The ender ends while no agent is there to see it.
    const enderSandbox = join(
      agentDir,
      'slaves',
      readdirSync(join(agentDir, 'slaves'))[0] ?? '',
      'frameworks',
    );
    const [frameworkDir] = readdirSync(enderSandbox);
    const goFile = join(
      enderSandbox,
      frameworkDir ?? '',
      'executors',
      'ender',
      'runs',
      'latest',
      'go',
    );
    writeFileSync(goFile, '');
    await waitFor('the ender container to exit', async () =>
      (await ourContainers(docker, agentDir)).some(
        (c) => c.Labels['agora.task_id'] === 'ender' && c.State === 'exited',
      )
        ? true
        : undefined,
    );

    await cluster.addAgent('agent-1-again', dockerArgs(docker), agentDir);
    const ended = await framework.update('ender', 'TASK_FAILED', 30_000);
    assert.match(ended.message ?? '', /exited with status 4/);
    // What it said while no agent was there is copied once; what was copied before, kept.
    const enderOut = sandboxFile(agentDir, 'ender', 'stdout');
    assert.equal(enderOut.match(/^after$/gm)?.length, 1, enderOut);
    assert.match(enderOut, /^before$/m);
    // The survivor's output goes on landing, with no line lost across the restart.
    const survivorOut = await waitFor('the survivor to write past the restart', () => {
      const text = sandboxFile(agentDir, 'survivor', 'stdout');
      return text.split('\n').length > linesAtKill + 20 ? text : undefined;
    });
    const numbers = new Set<number>();
    for (const line of survivorOut.split('\n').slice(0, -1)) {
      const match = /^line (\d+)$/.exec(line);
      assert.ok(match !== null, `a whole line: ${JSON.stringify(line)}`);
      numbers.add(Number(match[1]));
    }
    const highest = Math.max(...numbers);
    for (let n = 0; n <= highest; n++) assert.ok(numbers.has(n), `line ${n} is in the sandbox`);
    await waitFor('the orphan to be killed', async () =>
      (await ourContainers(docker, agentDir)).some(
        (c) => c.Labels['agora.container_id'] === 'orphan',
      )
        ? undefined
        : true,
    );
    // The ended one is removed once reported (--docker_remove_delay=0).
    await waitFor('only the survivors to be left', async () => {
      const left = (await ourContainers(docker, agentDir)).map((c) => c.Labels['agora.task_id']);
      return left.sort().join() === 'survivor,survivor-cli' ? true : undefined;
    });
    for (const id of ['survivor', 'survivor-cli'])
      assert.ok(
        !framework
          .updates(id)
          .some((u) => u.state !== 'TASK_RUNNING' && u.state !== 'TASK_STARTING'),
        `${id} was not reported ended`,
      );
    await framework.killUntilKilled('survivor');
    await framework.killUntilKilled('survivor-cli');
    await framework.stop();
    await cluster.stop();
    const left = await docker.leftovers();
    assert.deepEqual(left, { containers: [], networks: [], volumes: [] }, 'nothing is left');
  });
});

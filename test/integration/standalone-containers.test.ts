// Standalone containers on the agent's operator API (Mesos 1.5+, docs/standalone-containers.md),
// against a real agent: LAUNCH_CONTAINER without a parent runs a command in a container of its
// own (200; 202 for an id in use; 400 naming the field for a DOCKER one), in JSON and in
// protobuf; WAIT/KILL/REMOVE_CONTAINER work on it, GET_CONTAINERS lists it only with
// show_standalone; its memory limit is enforced under cgroups (the OOM is what WAIT reports);
// and an agent killed with SIGKILL, or stopped with SIGTERM, re-attaches to those running and
// reports how the others ended. Nothing is left running, nor any cgroup, once removed or once
// the agent stops (SIGUSR1).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readStat } from '../../src/containerizer/index.js';
import { CODECS, type Json, PROTO_MESSAGES as M, postMessage, type WireCodec } from './codecs.js';
import { type Cluster, startCluster, waitFor } from './harness.js';

const isRunning = (pid: number) => {
  const stat = readStat(pid);
  return stat !== undefined && !stat.isZombie;
};
const asJson = (value: unknown) => value as Json;
/** The agent's memory cgroup of a container, where the host has cgroups v1 (it picks them as root). */
const memoryCgroup = (id: string) => join('/sys/fs/cgroup/memory/agora', id);
const hasCgroups = process.getuid?.() === 0 && existsSync('/sys/fs/cgroup/memory');

function agentApi(cluster: Cluster, index = 0) {
  const url = () => new URL('/api/v1', cluster.agents[index]?.url ?? '');
  const ask = async (codec: WireCodec, call: Json, expected = 200) => {
    const reply = await postMessage(url(), codec, M.agentCall, call);
    assert.equal(reply.status, expected, `${codec.name} ${String(call.type)}: ${reply.body}`);
    if (reply.body.length === 0 || reply.status !== 200) return { text: reply.body.toString() };
    return asJson(codec.decode(M.agentResponse, reply.body));
  };
  const json = CODECS.find((codec) => codec.name === 'json') ?? CODECS[0];
  assert.ok(json !== undefined);
  const wait = async (value: string, codec = json) =>
    asJson(
      (await ask(codec, { type: 'WAIT_CONTAINER', wait_container: { container_id: { value } } }))
        .wait_container,
    );
  const standalone = async (codec = json) =>
    (
      asJson(
        (
          await ask(codec, {
            type: 'GET_CONTAINERS',
            get_containers: { show_nested: true, show_standalone: true },
          })
        ).get_containers,
      ).containers as Json[] | undefined
    )?.map((c) => ({
      id: asJson(c.container_id).value as string,
      pid: asJson(c.container_status).executor_pid as number | undefined,
    })) ?? [];
  const pidOf = async (value: string) => {
    const pid = (await standalone()).find((c) => c.id === value)?.pid;
    assert.ok(pid !== undefined && pid > 0, `GET_CONTAINERS shows ${value} with its pid`);
    return pid;
  };
  return { ask, json, wait, standalone, pidOf };
}

test('standalone containers launch, wait, die and go in JSON and in protobuf', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:1;mem:256' });
  t.after(() => cluster.stop());
  const { ask, wait, standalone, pidOf } = agentApi(cluster);
  const agentWorkDir = join(cluster.workDir, 'agent-1');
  for (const codec of CODECS) {
    const quick = `solo-quick-${codec.name}-${randomUUID()}`;
    const launchQuick = {
      type: 'LAUNCH_CONTAINER',
      launch_container: {
        container_id: { value: quick },
        command: { value: 'echo hello from $MESOS_SANDBOX; exit 3' },
        resources: [
          { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
          { name: 'mem', type: 'SCALAR', scalar: { value: 64 } },
        ],
        container: { type: 'MESOS' },
      },
    };
    await ask(codec, launchQuick);
    await ask(codec, launchQuick, 202);
    assert.equal((await wait(quick, codec)).exit_status, 3 << 8, `${codec.name}: exited 3`);
    const sandbox = join(agentWorkDir, 'containers', quick);
    assert.equal(
      readFileSync(join(sandbox, 'stdout'), 'utf8').trim(),
      `hello from ${sandbox}`,
      'its sandbox is <work_dir>/containers/<id>',
    );
    await ask(codec, {
      type: 'REMOVE_CONTAINER',
      remove_container: { container_id: { value: quick } },
    });
    await ask(
      codec,
      { type: 'REMOVE_CONTAINER', remove_container: { container_id: { value: quick } } },
      404,
    );
    await ask(
      codec,
      { type: 'WAIT_CONTAINER', wait_container: { container_id: { value: quick } } },
      404,
    );

    const long = `solo-long-${codec.name}-${randomUUID()}`;
    await ask(codec, {
      type: 'LAUNCH_CONTAINER',
      launch_container: {
        container_id: { value: long },
        command: { value: 'exec sleep 600' },
        resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 } }],
      },
    });
    const plain = asJson((await ask(codec, { type: 'GET_CONTAINERS' })).get_containers);
    assert.ok(
      !((plain.containers as Json[] | undefined) ?? []).some(
        (c) => asJson(c.container_id).value === long,
      ),
      'GET_CONTAINERS does not list it without show_standalone',
    );
    assert.ok(
      (await standalone(codec)).some((c) => c.id === long),
      'with it, it does',
    );
    const pid = await pidOf(long);
    assert.ok(isRunning(pid));
    if (hasCgroups)
      assert.equal(
        readFileSync(join(memoryCgroup(long), 'memory.limit_in_bytes'), 'utf8').trim(),
        String(64 * 1024 * 1024),
        'it runs in a memory cgroup of its own, limited to its mem',
      );
    const master = (await (await fetch(new URL('/state', cluster.masterUrl))).json()) as {
      slaves: { used_resources: { mem: number } }[];
    };
    assert.equal(master.slaves[0]?.used_resources.mem, 0, 'the master does not count it');
    await ask(
      codec,
      { type: 'REMOVE_CONTAINER', remove_container: { container_id: { value: long } } },
      409,
    );
    await ask(codec, {
      type: 'KILL_CONTAINER',
      kill_container: { container_id: { value: long }, signal: 15 },
    });
    assert.equal((await wait(long, codec)).exit_status, 15, `${codec.name}: killed by SIGTERM`);
    await ask(codec, {
      type: 'REMOVE_CONTAINER',
      remove_container: { container_id: { value: long } },
    });
    assert.ok(!isRunning(pid), 'its process is gone');
    if (hasCgroups)
      await waitFor(`${long}'s cgroup to go`, () =>
        existsSync(memoryCgroup(long)) ? undefined : true,
      );
    assert.ok(
      !(await standalone(codec)).some((c) => c.id === long),
      'GET_CONTAINERS does not list it any more',
    );
  }
  const { json } = agentApi(cluster);
  // A standalone container as the parent of nested ones: detached, and a session.
  const parent = `solo-parent-${randomUUID()}`;
  await ask(json, {
    type: 'LAUNCH_CONTAINER',
    launch_container: { container_id: { value: parent }, command: { value: 'exec sleep 600' } },
  });
  const child = { value: 'child', parent: { value: parent } };
  await ask(json, {
    type: 'LAUNCH_CONTAINER',
    launch_container: { container_id: child, command: { value: 'echo nested; exit 4' } },
  });
  const childEnd = asJson(
    (await ask(json, { type: 'WAIT_CONTAINER', wait_container: { container_id: child } }))
      .wait_container,
  );
  assert.equal(childEnd.exit_status, 4 << 8, 'a nested container of a standalone one ran');
  assert.equal(
    readFileSync(join(agentWorkDir, 'containers', parent, 'containers', 'child', 'stdout'), 'utf8'),
    'nested\n',
    "its sandbox is under its parent's",
  );
  const session = await fetch(new URL('/api/v1', cluster.agents[0]?.url ?? ''), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/recordio' },
    body: JSON.stringify({
      type: 'LAUNCH_NESTED_CONTAINER_SESSION',
      launch_nested_container_session: {
        container_id: { value: 'session', parent: { value: parent } },
        command: { value: 'echo from-a-session' },
      },
    }),
  });
  assert.equal(session.status, 200);
  assert.ok(
    (await session.text()).includes(Buffer.from('from-a-session\n').toString('base64')),
    'a session in a standalone container streams its output',
  );
  await ask(json, {
    type: 'KILL_CONTAINER',
    kill_container: { container_id: { value: parent } },
  });
  assert.equal((await wait(parent)).exit_status, 9);
  await ask(json, {
    type: 'REMOVE_CONTAINER',
    remove_container: { container_id: { value: parent } },
  });
  await ask(
    json,
    { type: 'KILL_CONTAINER', kill_container: { container_id: { value: 'no-such-thing' } } },
    404,
  );
  const docker = (await ask(
    json,
    {
      type: 'LAUNCH_CONTAINER',
      launch_container: {
        container_id: { value: `solo-docker-${randomUUID()}` },
        command: { value: 'true' },
        container: { type: 'DOCKER', docker: { image: 'alpine' } },
      },
    },
    400,
  )) as { text: string };
  assert.match(docker.text, /launch_container\.container\.type.*use docker directly/);
  const badId = (await ask(
    json,
    {
      type: 'LAUNCH_CONTAINER',
      launch_container: { container_id: { value: '..' }, command: { value: 'true' } },
    },
    400,
  )) as { text: string };
  assert.match(badId.text, /launch_container\.container_id\.value/);
  const huge = (await ask(
    json,
    {
      type: 'LAUNCH_CONTAINER',
      launch_container: {
        container_id: { value: `solo-huge-${randomUUID()}` },
        resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 1e15 } }],
      },
    },
    400,
  )) as { text: string };
  assert.match(huge.text, /launch_container\.resources\[0\]\.scalar\.value/);
});

test('a standalone container is held to its memory under cgroups: WAIT reports the OOM', async (t) => {
  if (!hasCgroups) return t.skip('needs root and cgroups v1 memory');
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:1;mem:256' });
  t.after(() => cluster.stop());
  const { ask, json, wait } = agentApi(cluster);
  const id = `solo-oom-${randomUUID()}`;
  await ask(json, {
    type: 'LAUNCH_CONTAINER',
    launch_container: {
      container_id: { value: id },
      // A 256 MB buffer, filled: far over its 32 MB.
      command: { value: 'exec dd if=/dev/zero of=/dev/null bs=256M count=1' },
      resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 32 } }],
    },
  });
  const end = await wait(id);
  assert.equal(end.reason, 'REASON_CONTAINER_LIMITATION_MEMORY', JSON.stringify(end));
  await ask(json, { type: 'REMOVE_CONTAINER', remove_container: { container_id: { value: id } } });
  await waitFor(`${id}'s cgroup to go`, () => (existsSync(memoryCgroup(id)) ? undefined : true));
});

test('standalone containers outlive their agent (SIGKILL, SIGTERM): re-attached, or their end reported', async (t) => {
  const cluster = await startCluster({ agents: 1, agentResources: 'cpus:1;mem:256' });
  t.after(() => cluster.stop());
  const pids: number[] = [];
  t.after(() => {
    for (const pid of pids) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  });
  const agentWorkDir = join(cluster.workDir, 'agent-1');
  const release = join(cluster.workDir, 'release');
  const api = agentApi(cluster);
  const { ask, json } = api;
  const keep = `solo-keep-${randomUUID()}`;
  const ends = `solo-ends-${randomUUID()}`;
  const launch = (value: string, command: string) =>
    ask(json, {
      type: 'LAUNCH_CONTAINER',
      launch_container: {
        container_id: { value },
        command: { value: command },
        resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 } }],
      },
    });
  await launch(keep, 'exec sleep 600');
  await launch(ends, `while [ ! -e ${release} ]; do sleep 0.05; done; exit 7`);
  const keepPid = await api.pidOf(keep);
  const endsPid = await api.pidOf(ends);
  pids.push(keepPid, endsPid);

  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  agent.process.kill('SIGKILL');
  await agent.exited;
  writeFileSync(release, '');
  await waitFor('ends to exit while the agent is down', () =>
    isRunning(endsPid) ? undefined : true,
  );
  assert.ok(isRunning(keepPid), 'a standalone container runs on without its agent');

  cluster.agents.length = 0;
  await cluster.addAgent('agent-1-again', [], agentWorkDir);
  const again = agentApi(cluster);
  assert.equal((await again.wait(ends)).exit_status, 7 << 8, 'the end it had meanwhile');
  assert.ok(isRunning(keepPid), 'the restarted agent did not take it for a stray');
  assert.equal(await again.pidOf(keep), keepPid, 'it is re-attached');

  // SIGTERM: the agent leaves its containers running, for the next one.
  const second = cluster.agents[0];
  assert.ok(second !== undefined);
  await second.stop('SIGTERM');
  assert.ok(isRunning(keepPid), 'SIGTERM leaves it running');
  cluster.agents.length = 0;
  await cluster.addAgent('agent-1-third', [], agentWorkDir);
  const third = agentApi(cluster);
  assert.equal(await third.pidOf(keep), keepPid, 're-attached again');
  await third.ask(json, {
    type: 'KILL_CONTAINER',
    kill_container: { container_id: { value: keep }, signal: 9 },
  });
  assert.equal((await third.wait(keep)).exit_status, 9, 'killed by SIGKILL after recovery');
  for (const value of [keep, ends])
    await third.ask(json, {
      type: 'REMOVE_CONTAINER',
      remove_container: { container_id: { value } },
    });
  assert.ok(!isRunning(keepPid));
  if (hasCgroups)
    for (const value of [keep, ends])
      await waitFor(`${value}'s cgroup to go`, () =>
        existsSync(memoryCgroup(value)) ? undefined : true,
      );

  // Stopping the agent for good (SIGUSR1) ends what runs, and its cgroup.
  const last = `solo-last-${randomUUID()}`;
  await third.ask(json, {
    type: 'LAUNCH_CONTAINER',
    launch_container: { container_id: { value: last }, command: { value: 'exec sleep 600' } },
  });
  const lastPid = await third.pidOf(last);
  pids.push(lastPid);
  await cluster.agents[0]?.stop('SIGUSR1');
  assert.ok(!isRunning(lastPid), 'the agent stopping for good kills it');
  if (hasCgroups) assert.ok(!existsSync(memoryCgroup(last)), 'and removes its cgroup');
});

test('a standalone container runs as its command user under --switch_user, to its limits, as the ACLs allow', async (t) => {
  const cluster = await startCluster({ agents: 0, agentResources: 'cpus:1;mem:256' });
  t.after(() => cluster.stop());
  const anyone = [{ principals: { type: 'ANY' }, users: { type: 'ANY' } }];
  await cluster.addAgent('agent-1', [
    '--switch_user',
    '--acls',
    JSON.stringify({
      launch_standalone_containers: anyone,
      wait_standalone_containers: anyone,
      remove_standalone_containers: anyone,
      kill_standalone_containers: [{ principals: { type: 'ANY' }, users: { type: 'NONE' } }],
    }),
  ]);
  const { ask, json, wait } = agentApi(cluster);
  const id = `solo-user-${randomUUID()}`;
  const sandbox = join(cluster.workDir, 'agent-1', 'containers', id);
  await ask(json, {
    type: 'LAUNCH_CONTAINER',
    launch_container: {
      container_id: { value: id },
      // Who it runs as and who owns its sandbox; then it waits for the test's word.
      command: {
        value: 'echo "$(id -u) $(stat -c %u .)" > who; while [ ! -e go ]; do sleep 0.05; done',
        user: 'nobody',
      },
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
      ],
      limits: { mem: { value: 96 } },
    },
  });
  const who = await waitFor('the container to say who it is', () => {
    const text = existsSync(join(sandbox, 'who')) ? readFileSync(join(sandbox, 'who'), 'utf8') : '';
    return text.endsWith('\n') ? text : undefined;
  });
  assert.equal(who, '65534 65534\n', 'it runs as nobody, in a sandbox nobody owns');
  if (hasCgroups)
    assert.equal(
      readFileSync(join(memoryCgroup(id), 'memory.limit_in_bytes'), 'utf8').trim(),
      String(96 * 1024 * 1024),
      'its memory is held to its limit, above its request',
    );
  const kill = { type: 'KILL_CONTAINER', kill_container: { container_id: { value: id } } };
  const forbidden = (await ask(json, kill, 403)) as { text: string };
  assert.match(forbidden.text, /kill_standalone_containers/);
  writeFileSync(join(sandbox, 'go'), '');
  assert.equal((await wait(id)).exit_status, 0);
  await ask(json, { type: 'REMOVE_CONTAINER', remove_container: { container_id: { value: id } } });
});

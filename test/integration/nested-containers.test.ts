// Containers nested in a running task's, through the agent's operator API as
// Mesos' executors and tools drive them: LAUNCH_CONTAINER with a parent (and
// the pre-1.5 LAUNCH_NESTED_CONTAINER), WAIT, KILL and REMOVE; their own sandbox
// under the task's; and a task that plants symlinks where that sandbox goes
// never gets the agent to write or remove anything outside it.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Cluster, runCli, startCluster, waitFor } from './harness.js';
import { TaskFramework } from './task-framework.js';

describe('nested containers (LAUNCH_CONTAINER with a parent)', () => {
  let cluster: Cluster;
  let framework: TaskFramework;
  let parent: string;
  let sandbox: string;
  let outside: string;
  before(async () => {
    outside = mkdtempSync(join(tmpdir(), 'agora-nested-outside-'));
    writeFileSync(join(outside, 'keep'), 'precious\n');
    cluster = await startCluster({ agents: 0, agentResources: 'cpus:1;mem:512' });
    // Mesos' default, which the harness turns off: tasks run as their users.
    await cluster.addAgent('agent-1', ['--switch_user']);
    framework = await TaskFramework.start(cluster.masterUrl, 'nested-test');
    await framework.launch({ host: 'echo $MESOS_TASK_ID > who; sleep 600' });
    const running = await framework.update('host', 'TASK_RUNNING');
    const id = running.container_status?.container_id?.value;
    assert.ok(id !== undefined, 'the running status names the container');
    parent = id;
    const state = (await (await fetch(new URL('/state', agentUrl()))).json()) as {
      frameworks: { executors: { id: string; directory: string }[] }[];
    };
    const directory = state.frameworks[0]?.executors.find((e) => e.id === 'host')?.directory;
    assert.ok(directory !== undefined);
    sandbox = directory;
  });
  after(async () => {
    await framework?.stop();
    await cluster?.stop();
    rmSync(outside, { recursive: true, force: true });
  });
  const agentUrl = () => cluster.agents[0]?.url ?? '';
  const call = async (body: unknown) => {
    const response = await fetch(new URL('/api/v1', agentUrl()), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  };
  const nested = (value: string) => ({ value, parent: { value: parent } });

  test('a nested container runs in the task, writes its own sandbox, and WAIT gives its status', async () => {
    const launched = await call({
      type: 'LAUNCH_CONTAINER',
      launch_container: {
        container_id: nested('check-1'),
        command: {
          value: 'echo "$MESOS_TASK_ID $GREETING $(pwd)"; cat ../../who; echo oops >&2; exit 3',
          environment: { variables: [{ name: 'GREETING', type: 'VALUE', value: 'hello' }] },
        },
      },
    });
    assert.equal(launched.status, 200, launched.text);
    const waited = await call({
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: nested('check-1') },
    });
    assert.equal(waited.status, 200, waited.text);
    const body = JSON.parse(waited.text) as { wait_container: { exit_status: number } };
    assert.equal(body.wait_container.exit_status, 3 << 8, 'a wait(2) status: exited 3');
    const own = join(sandbox, 'containers', 'check-1');
    assert.equal(
      readFileSync(join(own, 'stdout'), 'utf8'),
      `host hello ${own}\nhost\n`,
      "the task's environment and its own sandbox as working directory",
    );
    assert.equal(readFileSync(join(own, 'stderr'), 'utf8'), 'oops\n');

    // A launch repeated with the same id is accepted without running it twice (202).
    const again = await call({
      type: 'LAUNCH_CONTAINER',
      launch_container: { container_id: nested('check-1'), command: { value: 'echo twice' } },
    });
    assert.equal(again.status, 202, again.text);
    assert.doesNotMatch(readFileSync(join(own, 'stdout'), 'utf8'), /twice/);

    const removed = await call({
      type: 'REMOVE_CONTAINER',
      remove_container: { container_id: nested('check-1') },
    });
    assert.equal(removed.status, 200, removed.text);
    assert.equal(existsSync(own), false, "REMOVE_CONTAINER removes the container's sandbox");
    const gone = await call({
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: nested('check-1') },
    });
    assert.equal(gone.status, 404, gone.text);
  });

  test('the pre-1.5 names work: LAUNCH, KILL, WAIT and REMOVE_NESTED_CONTAINER', async () => {
    const launched = await call({
      type: 'LAUNCH_NESTED_CONTAINER',
      launch_nested_container: {
        container_id: nested('long-1'),
        command: { value: 'echo up; exec sleep 600' },
      },
    });
    assert.equal(launched.status, 200, launched.text);
    await waitFor('the nested container to start', () =>
      existsSync(join(sandbox, 'containers', 'long-1', 'stdout')) &&
      readFileSync(join(sandbox, 'containers', 'long-1', 'stdout'), 'utf8') === 'up\n'
        ? true
        : undefined,
    );
    const early = await call({
      type: 'REMOVE_NESTED_CONTAINER',
      remove_nested_container: { container_id: nested('long-1') },
    });
    assert.equal(early.status, 409, 'a running container is not removed');
    assert.match(early.text, /still running/);

    const killed = await call({
      type: 'KILL_NESTED_CONTAINER',
      kill_nested_container: { container_id: nested('long-1'), signal: 15 },
    });
    assert.equal(killed.status, 200, killed.text);
    const waited = await call({
      type: 'WAIT_NESTED_CONTAINER',
      wait_nested_container: { container_id: nested('long-1') },
    });
    assert.equal(waited.status, 200, waited.text);
    const body = JSON.parse(waited.text) as {
      type: string;
      wait_nested_container: { exit_status: number };
    };
    assert.equal(body.type, 'WAIT_NESTED_CONTAINER');
    assert.equal(body.wait_nested_container.exit_status, 15, 'a wait(2) status: signal 15');
    const removed = await call({
      type: 'REMOVE_NESTED_CONTAINER',
      remove_nested_container: { container_id: nested('long-1') },
    });
    assert.equal(removed.status, 200, removed.text);
  });

  test("GET /containers lists the task's container with its usage and status, as Mesos' does", async () => {
    const all = (await (await fetch(new URL('/containers', agentUrl()))).json()) as {
      container_id: string;
      source: string;
      statistics: { mem_rss_bytes?: number };
      status: { container_id: { value: string }; executor_pid?: number };
    }[];
    const entry = all.find((e) => e.container_id === parent);
    assert.ok(entry !== undefined, JSON.stringify(all));
    assert.equal(entry.source, 'host');
    assert.equal(entry.status.container_id.value, parent);
    assert.ok((entry.status.executor_pid ?? 0) > 0);
    const one = (await (
      await fetch(new URL(`/containers?container_id=${parent}`, agentUrl()))
    ).json()) as unknown[];
    assert.equal(one.length, 1);
    // Mesos serves these under the agent's process id; tools that name it must find them.
    for (const path of ['/slave(1)/containers', '/slave(1)/monitor/statistics']) {
      const named = await fetch(new URL(`${path}?container_id=${parent}`, agentUrl()));
      assert.equal(named.status, 200, path);
      const entries = (await named.json()) as { container_id: string }[];
      assert.ok(
        entries.some((e) => e.container_id === parent),
        `${path}: ${JSON.stringify(entries)}`,
      );
    }
    const none = (await (
      await fetch(new URL('/containers?container_id=nobody', agentUrl()))
    ).json()) as unknown[];
    assert.deepEqual(none, []);
  });

  test('bad launches are refused with the field and the reason', async () => {
    const cases: [unknown, number, RegExp][] = [
      [
        { type: 'LAUNCH_CONTAINER', launch_container: { container_id: nested('../x') } },
        400,
        /launch_container\.container_id\.value/,
      ],
      [
        { type: 'LAUNCH_CONTAINER', launch_container: { container_id: nested('..') } },
        400,
        /container_id\.value/,
      ],
      [
        {
          type: 'LAUNCH_CONTAINER',
          launch_container: { container_id: { value: 'n', parent: { value: 'nobody' } } },
        },
        404,
        /no running container nobody/,
      ],
      // Without a parent it is a standalone container (standalone-containers.test.ts): never DOCKER.
      [
        {
          type: 'LAUNCH_CONTAINER',
          launch_container: {
            container_id: { value: 'standalone' },
            container: { type: 'DOCKER', docker: { image: 'alpine' } },
          },
        },
        400,
        /launch_container\.container\.type: .*use docker directly/,
      ],
      [{ type: 'LAUNCH_NESTED_CONTAINER' }, 400, /launch_nested_container: required/],
      [
        {
          type: 'LAUNCH_NESTED_CONTAINER_SESSION',
          launch_nested_container_session: {
            container_id: nested('../x'),
            command: { value: 'true' },
          },
        },
        400,
        /launch_nested_container_session\.container_id\.value/,
      ],
    ];
    for (const [body, status, message] of cases) {
      const answer = await call(body);
      assert.equal(answer.status, status, `${JSON.stringify(body)}: ${answer.text}`);
      assert.match(answer.text, message);
    }
  });

  test('input for a session that closed its stdin is answered, and the agent lives on', async () => {
    const session = new AbortController();
    const id = nested('no-input');
    const stream = await fetch(new URL('/api/v1', agentUrl()), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/recordio' },
      body: JSON.stringify({
        type: 'LAUNCH_NESTED_CONTAINER_SESSION',
        launch_nested_container_session: {
          container_id: id,
          command: { value: 'exec 0<&-; echo closed; exec sleep 30' },
        },
      }),
      signal: session.signal,
    });
    assert.equal(stream.status, 200);
    try {
      const reader = stream.body?.getReader();
      let seen = '';
      await waitFor('the session to close its input', async () => {
        const chunk = await reader?.read();
        seen += Buffer.from(chunk?.value ?? []).toString('latin1');
        return seen.includes(Buffer.from('closed\n').toString('base64')) ? true : undefined;
      });
      // More than a pipe holds: the write fails (EPIPE) rather than waiting in a buffer.
      const input = Buffer.alloc(256 * 1024, 0x41).toString('base64');
      const record = (call: unknown) => {
        const text = JSON.stringify(call);
        return `${Buffer.byteLength(text)}\n${text}`;
      };
      const body = [
        record({
          type: 'ATTACH_CONTAINER_INPUT',
          attach_container_input: { type: 'CONTAINER_ID', container_id: id },
        }),
        ...[1, 2].map(() =>
          record({
            type: 'ATTACH_CONTAINER_INPUT',
            attach_container_input: {
              type: 'PROCESS_IO',
              process_io: { type: 'DATA', data: { type: 'STDIN', data: input } },
            },
          }),
        ),
      ].join('');
      const attached = await fetch(new URL('/api/v1', agentUrl()), {
        method: 'POST',
        headers: {
          'content-type': 'application/recordio',
          'message-content-type': 'application/json',
        },
        body,
      });
      assert.equal(attached.status, 200, await attached.text());
      // The next request, on whatever connection the client keeps, finds the agent serving.
      const health = await call({ type: 'GET_HEALTH' });
      assert.equal(health.status, 200, health.text);
    } finally {
      session.abort();
    }
  });

  test("symlinks the task plants in its sandbox never send the agent's writes or removals outside", async () => {
    const plant = async (name: string, script: string) => {
      const answer = await call({
        type: 'LAUNCH_CONTAINER',
        launch_container: { container_id: nested(name), command: { value: script } },
      });
      assert.equal(answer.status, 200, answer.text);
      await call({ type: 'WAIT_CONTAINER', wait_container: { container_id: nested(name) } });
    };
    // The nested sandboxes' directory swapped for a link to the outside directory.
    await plant(
      'planter-2',
      `cd "$MESOS_SANDBOX/../.." && mv containers containers.old && ln -s '${outside}' containers`,
    );
    const refused = await call({
      type: 'LAUNCH_CONTAINER',
      launch_container: { container_id: nested('keep'), command: { value: 'echo overwritten' } },
    });
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.text, /symlink/);
    const removal = await call({
      type: 'REMOVE_CONTAINER',
      remove_container: { container_id: nested('planter-2') },
    });
    assert.equal(removal.status, 409, removal.text);
    assert.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'precious\n');
    assert.equal(existsSync(join(outside, 'planter-2')), false);

    // Back to a real directory, but with `stdout` of the next id a link to a file outside.
    // Back to a real directory (the task could do the same), with `stdout` of the next id a
    // link to a file outside.
    rmSync(join(sandbox, 'containers'));
    renameSync(join(sandbox, 'containers.old'), join(sandbox, 'containers'));
    mkdirSync(join(sandbox, 'containers', 'linked'));
    symlinkSync(join(outside, 'keep'), join(sandbox, 'containers', 'linked', 'stdout'));
    const linked = await call({
      type: 'LAUNCH_CONTAINER',
      launch_container: { container_id: nested('linked'), command: { value: 'echo overwritten' } },
    });
    assert.equal(linked.status, 409, linked.text);
    assert.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'precious\n');
  });

  test('a nested container ends with its task', async () => {
    await framework.launch({ brief: 'sleep 600' });
    const running = await framework.update('brief', 'TASK_RUNNING');
    const briefId = running.container_status?.container_id?.value ?? '';
    const id = { value: 'child-of-brief', parent: { value: briefId } };
    const launched = await call({
      type: 'LAUNCH_CONTAINER',
      launch_container: { container_id: id, command: { value: 'exec sleep 600' } },
    });
    assert.equal(launched.status, 200, launched.text);
    await framework.killUntilKilled('brief');
    const waited = await call({ type: 'WAIT_CONTAINER', wait_container: { container_id: id } });
    assert.equal(waited.status, 200, waited.text);
    const status = (JSON.parse(waited.text) as { wait_container: { exit_status: number } })
      .wait_container.exit_status;
    // SIGTERM or SIGKILL, as the task's own processes: a wait(2) status of a signal.
    assert.ok(status === 15 || status === 9, `killed with its parent (status ${status})`);
  });

  test("what enters a task runs as the task's user: a nested container, a session, a check", async () => {
    await framework.launch({
      unprivileged: {
        command: { value: 'sleep 600', user: 'nobody' },
        health_check: {
          type: 'COMMAND',
          command: { value: 'test "$(id -u)" = 65534' },
          interval_seconds: 0.5,
          grace_period_seconds: 0,
        },
      },
    });
    const running = await framework.update('unprivileged', 'TASK_RUNNING');
    const id = {
      value: 'who-am-i',
      parent: { value: running.container_status?.container_id?.value ?? '' },
    };
    const launched = await call({
      type: 'LAUNCH_CONTAINER',
      launch_container: { container_id: id, command: { value: 'id -u; touch /root/owned' } },
    });
    assert.equal(launched.status, 200, launched.text);
    const waited = await call({ type: 'WAIT_CONTAINER', wait_container: { container_id: id } });
    assert.notEqual(
      (JSON.parse(waited.text) as { wait_container: { exit_status: number } }).wait_container
        .exit_status,
      0,
      'nobody cannot write in /root',
    );
    const state = (await (await fetch(new URL('/state', agentUrl()))).json()) as {
      frameworks: { executors: { id: string; directory: string }[] }[];
    };
    const directory = state.frameworks[0]?.executors.find(
      (e) => e.id === 'unprivileged',
    )?.directory;
    assert.ok(directory !== undefined);
    assert.equal(
      readFileSync(join(directory, 'containers', 'who-am-i', 'stdout'), 'utf8'),
      '65534\n',
    );
    assert.equal(existsSync('/root/owned'), false);

    const session = await runCli([
      'task',
      'exec',
      '--master',
      cluster.masterUrl,
      'unprivileged',
      '--',
      'id -u',
    ]).result;
    assert.equal(session.code, 0, session.stderr);
    assert.equal(session.stdout, '65534\n');

    // The COMMAND health check passes only when run as nobody.
    await waitFor('the task to be reported healthy', () =>
      framework.updates('unprivileged').some((status) => status.healthy === true)
        ? true
        : undefined,
    );
  });
});

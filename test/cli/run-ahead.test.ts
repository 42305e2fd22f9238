// bin/run-ahead.js: for plain arguments `agora run` sends its SUBSCRIBE, reads the first
// OFFERS and sends the ACCEPT before its bundle loads, only when the requests are certain; the
// bundle takes that connection (and what was read on it) instead of sending a second SUBSCRIBE
// (which would leave a framework nobody follows), and the launch instead of a second ACCEPT.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { userInfo } from 'node:os';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { commandInfo } from '../../src/cli/run.js';
import { offerFree, place, sumQuantities } from '../../src/placement/index.js';
import { Resources } from '../../src/resources/index.js';
import type { CommandInfo, Offer } from '../../src/wire/index.js';

const AGORA = fileURLToPath(new URL('../../bin/agora.js', import.meta.url));
const AHEAD = fileURLToPath(new URL('../../bin/run-ahead.js', import.meta.url));
const { subscribeRequest, chooseOffer, acceptBody } = createRequire(import.meta.url)(AHEAD) as {
  subscribeRequest: (
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    username: string,
  ) => { url: URL; text: string } | undefined;
  chooseOffer: (offers: readonly Offer[]) => Offer | undefined;
  acceptBody: (
    frameworkId: { value: string },
    offer: Offer,
    taskId: string,
    name: string,
    command: CommandInfo,
  ) => string;
};

/** The offer src/frameworks/run.ts's bestOffer() takes for the default demand. */
function bestOffer(offers: readonly Offer[]): Offer | undefined {
  const demand = Resources.scalars({ cpus: 0.1, mem: 32 });
  const fitting = offers.filter((offer) =>
    Resources.fromWire(offer.resources).unallocate().contains(demand),
  );
  if (fitting.length <= 1) return fitting[0];
  const agents = fitting.map((offer) => ({
    id: offer.id.value,
    free: offerFree(Resources.fromWire(offer.resources)),
  }));
  const [placement] = place(
    'min-delay',
    [{ id: 't', demand: offerFree(demand), submittedAtMs: 0 }],
    agents,
    { nowMs: 0, clusterCapacity: sumQuantities(agents.map((agent) => agent.free)) },
  );
  return fitting.find((offer) => offer.id.value === placement?.agentId) ?? fitting[0];
}

function offer(i: number, cpus: number, mem: number, disk: number): Offer {
  return {
    id: { value: `O${i}` },
    framework_id: { value: 'F' },
    agent_id: { value: `S${i}` },
    hostname: `h${i}`,
    url: { scheme: 'http', address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: 5051 } },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: cpus }, role: '*' },
      { name: 'mem', type: 'SCALAR', scalar: { value: mem }, role: '*' },
      ...(disk > 0
        ? [{ name: 'disk', type: 'SCALAR' as const, scalar: { value: disk }, role: '*' }]
        : []),
      {
        name: 'ports',
        type: 'RANGES',
        ranges: { range: [{ begin: 31000, end: 32000 }] },
        role: '*',
      },
    ],
  } as unknown as Offer;
}

test('run-ahead takes the offer the framework would take, or leaves the choice to it', () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  for (let round = 0; round < 2000; round++) {
    const offers = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) =>
      offer(
        i,
        pick([0, 0.05, 0.1, 0.3, 1, 2, 7.5]),
        pick([0, 16, 32, 64, 1000, 23081]),
        pick([0, 0, 100, 74703]),
      ),
    );
    assert.equal(
      chooseOffer(offers)?.id.value,
      bestOffer(offers)?.id.value,
      JSON.stringify(offers.map((o) => o.resources)),
    );
  }
  // Reserved or revocable resources: not judged here.
  const reserved = offer(0, 1, 64, 0);
  (reserved.resources[0] as unknown as Record<string, unknown>).reservations = [
    { type: 'STATIC', role: 'r' },
  ];
  assert.equal(chooseOffer([reserved, offer(1, 1, 64, 0)]), undefined);
});

test("run-ahead's ACCEPT is the framework's for the same offer and task", () => {
  const fit = offer(1, 2, 2048, 0);
  for (const positionals of [['echo hi; exit 3'], ['sh', '-c', 'echo two']]) {
    const body = JSON.parse(
      acceptBody({ value: 'F-1' }, fit, 'n-00ab', 'n', commandInfo(positionals, [])),
    ) as unknown;
    assert.deepEqual(body, {
      framework_id: { value: 'F-1' },
      type: 'ACCEPT',
      accept: {
        offer_ids: [fit.id],
        operations: [
          {
            type: 'LAUNCH',
            launch: {
              task_infos: [
                {
                  name: 'n',
                  task_id: { value: 'n-00ab' },
                  agent_id: fit.agent_id,
                  resources: Resources.scalars({ cpus: 0.1, mem: 32 }).toWire('pre-refinement'),
                  command: commandInfo(positionals, []),
                },
              ],
            },
          },
        ],
        filters: { refuse_seconds: 3600 },
      },
    });
  }
});

test('run-ahead sends only for plain arguments and a plain master', () => {
  const env = { AGORA_MASTER: '127.0.0.1:5050' };
  const sent = (args: readonly string[], extra: NodeJS.ProcessEnv = {}) =>
    subscribeRequest(args, { ...env, ...extra }, 'alice') !== undefined;
  assert.equal(sent(['--', 'true']), true);
  assert.equal(
    sent(['--master', '127.0.0.1:1234', '--name=x', '--role', 'r', '--', 'a', 'b']),
    true,
  );
  assert.equal(sent(['--master=http://h:80', '--', 'true']), true);
  for (const args of [
    ['true'], // no `--`: the bundle's parser decides
    ['--'], // no command: a usage error
    ['--cpus', '1', '--', 'true'], // a flag it does not know
    ['--name', 'a', '--name', 'b', '--', 'true'], // repeated
    ['--name', '', '--', 'true'],
    ['--name', '--role', '--', 'true'],
    ['--help', '--', 'true'],
    ['-q', '--', 'true'],
    ['--master', 'https://h:5050', '--', 'true'],
    ['--master', 'h1:5050,h2:5050', '--', 'true'],
    ['--master', 'zk://h:2181/agora', '--', 'true'],
    ['--master', 'file:///etc/masters', '--', 'true'],
  ])
    assert.equal(sent(args), false, args.join(' '));
  assert.equal(sent(['--', 'true'], { LIBPROCESS_SSL_ENABLED: 'true' }), false);
  assert.equal(sent(['--', 'true'], { AGORA_PRINCIPAL: 'p' }), false);
  assert.equal(sent(['--', 'true'], { AGORA_SECRET: 's' }), false);
});

test('run-ahead writes the framework of the flags and the default master', () => {
  const request = subscribeRequest(['--name', 'n', '--', 'true'], {}, 'alice');
  assert.equal(request?.url.href, 'http://127.0.0.1:5050/api/v1/scheduler');
  const body = JSON.parse(request?.text.split('\r\n\r\n')[1] ?? '') as {
    subscribe: { framework_info: Record<string, unknown> };
  };
  assert.deepEqual(body.subscribe.framework_info, {
    user: 'alice',
    name: 'n',
    role: '*',
    failover_timeout: 300,
    capabilities: [{ type: 'TASK_KILLING_STATE' }, { type: 'PARTITION_AWARE' }],
  });
});

/** A master that refuses every SUBSCRIBE (403) and counts the requests it was sent. */
async function refusingMaster(): Promise<{ port: number; requests: string[]; close(): void }> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
      if (text.length < end + 4 + length) return;
      requests.push(text);
      text = '';
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    port: address.port,
    requests,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

function agoraRun(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { NODE_OPTIONS: _n, AGORA_PRINCIPAL: _p, AGORA_SECRET: _s, ...rest } = process.env;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [AGORA, 'run', ...args],
      { env: { ...rest, ...env }, timeout: 30_000 },
      (error) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve(typeof error?.code === 'number' ? error.code : 0);
      },
    );
  });
}

test('agora run sends one SUBSCRIBE, the one sent ahead, whatever plain flags it has', async (t) => {
  const master = await refusingMaster();
  t.after(() => master.close());
  const cases: readonly (readonly string[])[] = [
    ['--', 'true'],
    [`--master=127.0.0.1:${master.port}`, '--', 'true'],
    ['--master', `http://127.0.0.1:${master.port}`, '--name', 'n', '--role', 'r', '--', 'a', 'b'],
    ['--cpus', '0.5', '--', 'true'], // not sent ahead: the bundle's own
  ];
  for (const args of cases) {
    master.requests.length = 0;
    const code = await agoraRun(args, { AGORA_MASTER: `127.0.0.1:${master.port}` });
    assert.equal(code, 125, `exit status of agora run ${args.join(' ')}`);
    const subscribes = master.requests.filter((r) => r.includes('"SUBSCRIBE"'));
    assert.equal(subscribes.length, 1, `SUBSCRIBEs for agora run ${args.join(' ')}`);
    const expected = subscribeRequest(
      args,
      { AGORA_MASTER: `127.0.0.1:${master.port}` },
      userInfo().username,
    );
    if (expected !== undefined) assert.equal(subscribes[0], expected.text);
  }
});

/**
 * A master that offers one agent at once, answers the ACCEPT with 202, then reports the task
 * STARTING and, once that is acknowledged, FINISHED; every call is recorded.
 */
async function launchingMaster(
  t: TestContext,
  options: { holdStarting?: boolean } = {},
): Promise<{ address: string; calls: Call[] }> {
  const calls: Call[] = [];
  let stream: ServerResponse | undefined;
  let taskId = '';
  const update = (state: string, uuid: string) =>
    stream?.write(
      recordOf({
        type: 'UPDATE',
        update: {
          status: {
            task_id: { value: taskId },
            state,
            source: 'SOURCE_EXECUTOR',
            agent_id: { value: 'S1' },
            uuid,
            ...(state === 'TASK_FINISHED' ? { message: 'Command exited with status 0' } : {}),
            ...(state === 'TASK_KILLED'
              ? { message: 'Command terminated with signal Terminated' }
              : {}),
          },
        },
      }),
    );
  const server = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      if (request.method !== 'POST') return void response.writeHead(404).end();
      const call = JSON.parse(body) as Call;
      calls.push(call);
      if (call.type === 'SUBSCRIBE') {
        response.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': 's1' });
        response.write(
          recordOf({
            type: 'SUBSCRIBED',
            subscribed: { framework_id: { value: 'F1' }, heartbeat_interval_seconds: 15 },
          }),
        );
        // The agent's address refuses: the task's output is simply not there.
        const fit = offer(1, 2, 2048, 0);
        response.write(
          recordOf({
            type: 'OFFERS',
            offers: {
              offers: [
                {
                  ...fit,
                  url: {
                    scheme: 'http',
                    address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: 1 },
                  },
                },
              ],
            },
          }),
        );
        stream = response;
        return;
      }
      response.writeHead(202).end();
      if (call.type === 'ACCEPT') {
        taskId = call.accept?.operations[0]?.launch.task_infos[0]?.task_id.value ?? '';
        if (options.holdStarting !== true) update('TASK_STARTING', 'dXVpZDE=');
      }
      if (call.type === 'KILL') update('TASK_KILLED', 'dXVpZDM=');
      if (call.type === 'ACKNOWLEDGE' && call.acknowledge?.uuid === 'dXVpZDE=')
        update('TASK_FINISHED', 'dXVpZDI=');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

interface Call {
  type: string;
  accept?: { operations: { launch: { task_infos: { task_id: { value: string } }[] } }[] };
  acknowledge?: { uuid: string };
}

function recordOf(event: unknown): string {
  const json = JSON.stringify(event);
  return `${Buffer.byteLength(json)}\n${json}`;
}

test('agora run launched ahead sends one SUBSCRIBE and one ACCEPT, and exits with its task', async (t) => {
  const master = await launchingMaster(t);
  for (const args of [
    ['--master', master.address, '--', 'true'], // the prelude launches
    ['--master', master.address, '--quiet', '--', 'true'], // the bundle does it all
  ]) {
    master.calls.length = 0;
    const code = await agoraRun(args, {});
    assert.equal(code, 0, `exit status of agora run ${args.join(' ')}`);
    const types = master.calls.map((call) => call.type);
    assert.equal(types.filter((type) => type === 'SUBSCRIBE').length, 1, types.join(' '));
    assert.equal(types.filter((type) => type === 'ACCEPT').length, 1, types.join(' '));
    assert.ok(types.includes('TEARDOWN'), types.join(' '));
    assert.equal(types.filter((type) => type === 'ACKNOWLEDGE').length, 2, types.join(' '));
  }
});

test('agora run killed between the ACCEPT sent ahead and the first update kills that task', async (t) => {
  const master = await launchingMaster(t, { holdStarting: true });
  const { NODE_OPTIONS: _n, AGORA_PRINCIPAL: _p, AGORA_SECRET: _s, ...env } = process.env;
  const child = spawn(process.execPath, [AGORA, 'run', '--master', master.address, '--', 'true'], {
    env,
    stdio: 'ignore',
  });
  t.after(() => child.kill('SIGKILL'));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  const deadline = Date.now() + 20_000;
  while (!master.calls.some((call) => call.type === 'ACCEPT')) {
    assert.ok(Date.now() < deadline, 'no ACCEPT within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  child.kill('SIGTERM');
  const [code] = await exited;
  const types = master.calls.map((call) => call.type);
  assert.equal(types.filter((type) => type === 'ACCEPT').length, 1, types.join(' '));
  assert.ok(types.includes('KILL'), types.join(' '));
  assert.ok(types.includes('TEARDOWN'), types.join(' '));
  assert.equal(code, 143);
});

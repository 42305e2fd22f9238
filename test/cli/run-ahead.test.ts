// bin/run-ahead.js: `agora run` sends its SUBSCRIBE before its bundle loads, only when the
// request is certain, and the bundle takes that request's connection instead of sending a
// second SUBSCRIBE (which would leave a framework nobody follows).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer, type Socket } from 'node:net';
import { userInfo } from 'node:os';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const AGORA = fileURLToPath(new URL('../../bin/agora.js', import.meta.url));
const AHEAD = fileURLToPath(new URL('../../bin/run-ahead.js', import.meta.url));
const { subscribeRequest } = createRequire(import.meta.url)(AHEAD) as {
  subscribeRequest: (
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    username: string,
  ) => { url: URL; text: string } | undefined;
};

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

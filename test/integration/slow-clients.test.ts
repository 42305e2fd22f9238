// Slow clients against a real master and agent with short request deadlines: a client
// trickling its headers or its body is cut, while the long-lived streams (the scheduler's
// SUBSCRIBE, the operator's SUBSCRIBE, the agent's link to the master) idle far past the
// deadlines and still carry what comes next.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { openStream, subscribe } from '../../src/sdk/index.js';
import { RecordIODecoder } from '../../src/wire/index.js';
import { EventQueue, launchOne } from './events.js';
import { startCluster, waitFor } from './harness.js';

const DEADLINE_ARGS = ['--http_headers_timeout=1secs', '--http_body_timeout=1secs'];

/** Resolves with how long the server took to close a connection trickling `head` then a byte every 100 ms. */
function trickle(url: string, head: string): { closed: Promise<number>; stop: () => void } {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined);
  socket.write(head);
  const timer = setInterval(() => socket.writable && socket.write(' '), 100);
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(performance.now() - started);
    }),
  );
  return {
    closed,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

test('slow clients are cut by the daemons while idle streams survive their deadlines', async (t) => {
  const cluster = await startCluster({
    agents: 0,
    agentResources: 'cpus:2;mem:1024',
    masterArgs: DEADLINE_ARGS,
  });
  t.after(() => cluster.stop());
  const agent = await cluster.addAgent('agent-1', DEADLINE_ARGS);
  await waitFor('the agent to register', async () => {
    const state = (await (await fetch(`${cluster.masterUrl}/master/state`)).json()) as {
      slaves: unknown[];
    };
    return state.slaves.length === 1 ? true : undefined;
  });

  const operator = await openStream(new URL('/api/v1', cluster.masterUrl), {
    method: 'POST',
    body: JSON.stringify({ type: 'SUBSCRIBE' }),
    headers: { 'content-type': 'application/json', accept: 'application/json' },
  });
  t.after(() => operator.destroy());
  const seen: string[] = [];
  const decoder = new RecordIODecoder();
  operator.on('data', (chunk: Buffer) => {
    for (const record of decoder.decode(chunk))
      seen.push((JSON.parse(record.toString('utf8')) as { type: string }).type);
  });
  const framework = await subscribe({
    master: cluster.masterUrl,
    frameworkInfo: { user: 'test', name: 'idle' },
  });
  t.after(() => framework.close());
  const events = new EventQueue(framework);
  await waitFor('FRAMEWORK_ADDED', () => (seen.includes('FRAMEWORK_ADDED') ? true : undefined));

  // Slowloris on both daemons: headers and a body trickled a byte every 100 ms.
  const slow = [cluster.masterUrl, agent.url].flatMap((url) => [
    trickle(url, 'GET /health HTTP/1.1\r\nHost: x\r\n'),
    trickle(
      url,
      'POST /api/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n',
    ),
  ]);
  t.after(() => {
    for (const client of slow) client.stop();
  });
  for (const client of slow) {
    const ms = await client.closed;
    // 1 s deadline, checked each second; wide margin for a loaded machine.
    assert.ok(ms < 10_000, `a slow client held its connection ${Math.round(ms)} ms`);
  }

  // Every stream has now idled well past both deadlines (1 s each): all still work.
  await new Promise((resolve) => setTimeout(resolve, 4000));
  assert.equal(operator.destroyed, false, 'the operator stream was cut');
  await launchOne(framework, events, 'after-idle', 'sleep 30');
  await waitFor('TASK_ADDED on the operator stream', () =>
    seen.includes('TASK_ADDED') ? true : undefined,
  );
  await framework.teardown();
});

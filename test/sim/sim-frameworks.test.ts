// A simulated framework against a fake master on loopback: it counts the calls the master
// has not answered yet, so that bench:failover can kill the leader only once none is left
// (a call still queued then reaches the next leader with the old stream's id).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { mulberry32, SimFramework, SimNetwork, TimingWheel } from '../../src/sim/index.js';

function record(value: unknown): string {
  const text = JSON.stringify(value);
  return `${Buffer.byteLength(text)}\n${text}`;
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('a framework counts its calls until the master answers them', async (t) => {
  /** ACKNOWLEDGE calls received and not answered yet. */
  const heldCalls: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string };
      if (call.type !== 'SUBSCRIBE') {
        heldCalls.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': 'stream-1' });
      res.write(record({ type: 'SUBSCRIBED', subscribed: { framework_id: { value: 'fw-1' } } }));
      // An update with a uuid: the framework must ACKNOWLEDGE it.
      res.write(
        record({
          type: 'UPDATE',
          update: {
            status: {
              task_id: { value: 'task-1' },
              agent_id: { value: 'agent-1' },
              state: 'TASK_RUNNING',
              uuid: 'dXVpZA==',
            },
          },
        }),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const network = new SimNetwork({ master: new URL(`http://127.0.0.1:${port}`) });
  const wheel = new TimingWheel(10, performance.now());
  const framework = new SimFramework({
    network,
    wheel,
    random: mulberry32(1),
    name: 'counting',
    task: { cpus: 0.1, memMb: 32, command: 'true' },
    durationMs: () => undefined,
  });
  t.after(async () => {
    framework.stop();
    network.close();
    wheel.clear();
    server.closeAllConnections();
    server.close();
  });
  assert.equal(framework.callsUnanswered, 0);
  await framework.start();
  await until('the ACKNOWLEDGE at the master', () => heldCalls.length === 1);
  assert.equal(framework.callsUnanswered, 1);
  heldCalls[0]?.writeHead(202).end();
  await until('the answer counted', () => framework.callsUnanswered === 0);
  assert.equal(framework.stats.acknowledged, 1);
});

// A master listens before it recovers its registry: through a newly elected
// master's recovery its port answers 503 instead of refusing connections, and it
// serves once recovered. An agent's call waits for the recovery instead (all of a
// failover's agents come within a second; 503 sent each of them back again and again).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { InMemoryRegistry, type RegistryState } from '../../src/registry/index.js';
import { MESOS_API_VERSION } from '../../src/wire/index.js';
import { testMaster } from './daemon-routes.js';

class SlowRegistry extends InMemoryRegistry {
  release: () => void = () => {};
  private readonly released = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  isRecovering = false;

  override async recover(): Promise<RegistryState> {
    this.isRecovering = true;
    await this.released;
    return super.recover();
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('a master answers 503 while it recovers its registry, and serves once recovered', async (t) => {
  const registry = new SlowRegistry();
  const port = await freePort();
  const master = testMaster({ port, registry });
  t.after(() => master.stop());
  const started = master.start();
  const deadline = Date.now() + 10_000;
  while (!registry.isRecovering) {
    assert.ok(Date.now() < deadline, 'the registry recovery began');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const during = await fetch(`http://127.0.0.1:${port}/api/v1/scheduler`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'SUBSCRIBE',
      subscribe: { framework_info: { user: 'u', name: 'f' } },
    }),
  });
  assert.equal(during.status, 503);
  assert.match(await during.text(), /recovering its registry/);
  // Whether it lives and what it measures are answered all along, as Mesos' master does.
  assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
  const metrics = await fetch(`http://127.0.0.1:${port}/metrics/snapshot`);
  assert.equal(metrics.status, 200);
  assert.equal(((await metrics.json()) as Record<string, number>)['master/elected'], 1);
  assert.equal((await fetch(`http://127.0.0.1:${port}/master/state`)).status, 503);
  registry.release();
  const url = await started;
  const after = await fetch(`${url}/health`);
  assert.equal(after.status, 200);
});

test("an agent's SUBSCRIBE during the recovery waits for it and is answered SUBSCRIBED", async (t) => {
  const registry = new SlowRegistry();
  const port = await freePort();
  const master = testMaster({ port, registry });
  t.after(() => master.stop());
  const started = master.start();
  const deadline = Date.now() + 10_000;
  while (!registry.isRecovering) {
    assert.ok(Date.now() < deadline, 'the registry recovery began');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const subscribe = (hostname: string, signal?: AbortSignal) =>
    fetch(`http://127.0.0.1:${port}/master/api/v1/agent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'SUBSCRIBE',
        subscribe: {
          agent_info: {
            hostname,
            port: 5051,
            resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }],
          },
          version: MESOS_API_VERSION,
        },
      }),
      ...(signal !== undefined ? { signal } : {}),
    });
  const held = subscribe('held-agent');
  // One that gives up while held is let go.
  const gaveUp = new AbortController();
  const abandoned = subscribe('abandoned-agent', gaveUp.signal).catch((error: Error) => error);
  // Still held a while later: no answer while the registry is being read.
  const early = await Promise.race([
    held.then(() => 'answered'),
    new Promise((resolve) => setTimeout(resolve, 300, 'waiting')),
  ]);
  assert.equal(early, 'waiting');
  gaveUp.abort();
  assert.ok((await abandoned) instanceof Error);
  registry.release();
  await started;
  const response = await held;
  assert.equal(response.status, 200);
  assert.ok(response.body !== null);
  const reader = response.body.getReader();
  let text = '';
  while (!text.includes('SUBSCRIBED')) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the stream ended before SUBSCRIBED');
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  const linkOf = (hostname: string) =>
    [...master.books.agents.values()].find((agent) => agent.info.hostname === hostname)?.link.state;
  // Whether the master saw the abandoned client leave before the recovery ended is a race
  // (the same process): either way, that agent ends up without a stream.
  const until = Date.now() + 10_000;
  while (linkOf('abandoned-agent') === 'connected') {
    assert.ok(Date.now() < until, 'the abandoned agent lost its stream');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(linkOf('held-agent'), 'connected');
});

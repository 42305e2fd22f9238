import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { DieEvents } from '../../src/containerizer/docker-die-events.js';

const event = (action: string, name: string, exitCode: string) =>
  `${JSON.stringify({
    Type: 'container',
    Action: action,
    Actor: { ID: 'abc', Attributes: { name, exitCode, 'agora.work_dir': '/w' } },
  })}\n`;

/** A stand-in for dockerd's event stream; `opened` counts the requests for it. */
function fakeDaemon() {
  const streams: PassThrough[] = [];
  let failing = false;
  return {
    streams,
    fail: (isFailing: boolean) => {
      failing = isFailing;
    },
    open: async (): Promise<IncomingMessage> => {
      if (failing) throw new Error('connect ECONNREFUSED');
      const stream = new PassThrough();
      streams.push(stream);
      return stream as unknown as IncomingMessage;
    },
  };
}

const pending = Symbol('pending');
const settledSoon = <T>(promise: Promise<T>) =>
  Promise.race([promise, new Promise<typeof pending>((r) => setTimeout(() => r(pending), 50))]);

test("a container's die event gives its exit code; other containers' events and other lines do not", async () => {
  const daemon = fakeDaemon();
  const dies = new DieEvents(daemon.open);
  const exit = dies.next('mesos-a');
  await new Promise((resolve) => setImmediate(resolve));
  const stream = daemon.streams[0];
  assert.ok(stream, 'the stream is asked for at the first watch');
  stream.write('not json\n');
  stream.write(event('die', 'mesos-b', '3'));
  stream.write(event('start', 'mesos-a', '0'));
  assert.equal(await settledSoon(exit), pending);
  // A line split across two chunks.
  const line = event('die', 'mesos-a', '42');
  stream.write(line.slice(0, 20));
  stream.write(line.slice(20));
  assert.equal(await exit, 42);
  dies.close();
});

test('with no event stream the exit is left to the wait, and the stream is asked for again later', async () => {
  const daemon = fakeDaemon();
  daemon.fail(true);
  const dies = new DieEvents(daemon.open);
  const exit = dies.next('mesos-a');
  assert.equal(await settledSoon(exit), pending);
  daemon.fail(false);
  dies.ensureOpen();
  await new Promise((resolve) => setImmediate(resolve));
  daemon.streams[0]?.write(event('die', 'mesos-a', '0'));
  assert.equal(await exit, 0);
  // A stream that ends (dockerd restarting) is opened anew for the next container.
  daemon.streams[0]?.end();
  daemon.streams[0]?.destroy();
  await new Promise((resolve) => setImmediate(resolve));
  const next = dies.next('mesos-c');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(daemon.streams.length, 2);
  daemon.streams[1]?.write(event('die', 'mesos-c', '137'));
  assert.equal(await next, 137);
  dies.close();
});

test('a forgotten container is not reported', async () => {
  const daemon = fakeDaemon();
  const dies = new DieEvents(daemon.open);
  const exit = dies.next('mesos-a');
  dies.forget('mesos-a');
  await new Promise((resolve) => setImmediate(resolve));
  daemon.streams[0]?.write(event('die', 'mesos-a', '1'));
  assert.equal(await settledSoon(exit), pending);
  dies.close();
});

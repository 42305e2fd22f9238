// The master's connection front (runtime/http-front.ts) answers an agent's SUBSCRIBE with
// its own writer: the bytes on the wire must be node:http's, and stopping the master must
// leave nothing of the front behind.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import type { Master } from '../../src/master/master.js';
import { rehearsalAgent, rehearsalSubscribe } from '../../src/master/warm-up.js';
import {
  applyOperation,
  EMPTY_REGISTRY_STATE,
  InMemoryRegistry,
} from '../../src/registry/index.js';
import { ManualClock } from '../../src/runtime/index.js';
import { waitFor } from '../integration/harness.js';
import { testMaster } from './daemon-routes.js';

const AGENTS = 3;
const INFOS = Array.from({ length: AGENTS }, (_, i) => rehearsalAgent(i));
const ADMITTED = INFOS.reduce(
  (state, agent) => applyOperation(state, { kind: 'admitAgent', agent }),
  EMPTY_REGISTRY_STATE,
);

/** A master that knows the agents, with a clock that never moves (no PING, no HEARTBEAT). */
function frontMaster(isAgentFrontOn: boolean): Master {
  return testMaster({
    id: 'front-test',
    registry: new InMemoryRegistry({ initial: ADMITTED }),
    clock: new ManualClock(1_700_000_000_000),
    isAgentFrontOn,
  });
}

/** The agent's SUBSCRIBE as Agora's agents (node:http's client) and the simulator send it. */
function subscribeBytes(i: number, port: number): Buffer {
  const info = INFOS[i];
  assert.ok(info !== undefined);
  const body = Buffer.from(JSON.stringify(rehearsalSubscribe(info, i, 4)));
  const head = `POST /master/api/v1/agent HTTP/1.1\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: ${body.length}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/**
 * Every byte the master sends on one SUBSCRIBE's connection, from the request to the end
 * of the stream: the master is stopped once SUBSCRIBED is in, so the stream ends.
 */
async function streamBytes(isAgentFrontOn: boolean, request: (port: number) => Buffer) {
  const master = frontMaster(isAgentFrontOn);
  const url = new URL(await master.start());
  const port = Number(url.port);
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve());
    socket.on('error', reject);
  });
  socket.write(request(port));
  try {
    await waitFor('SUBSCRIBED', () =>
      Buffer.concat(chunks).includes('"SUBSCRIBED"') ? true : undefined,
    );
  } finally {
    await master.stop();
  }
  await ended;
  socket.destroy();
  return {
    // The master's port is in SUBSCRIBED (its MasterInfo): ephemeral ports are all 5 digits,
    // so the chunk's size does not depend on which one.
    text: Buffer.concat(chunks).toString('latin1').replaceAll(String(port), '<port>'),
    answered: master.agentFrontAnswered,
  };
}

/** The stream without what differs between two masters by design: the Date and the stream id. */
function normalized(text: string): string {
  return text
    .replace(/\r\nDate: [^\r]*\r\n/, '\r\nDate: <date>\r\n')
    .replace(/\r\nMesos-Stream-Id: [0-9a-f-]{36}\r\n/, '\r\nMesos-Stream-Id: <id>\r\n');
}

test("the front's answer to a SUBSCRIBE is node:http's, byte for byte but the Date and the stream id", async () => {
  const request = (port: number) => subscribeBytes(0, port);
  const viaNode = await streamBytes(false, request);
  const viaFront = await streamBytes(true, request);
  assert.equal(viaNode.answered, 0);
  assert.equal(viaFront.answered, 1, 'the front answered');
  assert.match(viaFront.text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(viaFront.text, /\r\n0\r\n\r\n$/, 'the chunked stream ended');
  assert.equal(normalized(viaFront.text), normalized(viaNode.text));
});

test('the front takes a SUBSCRIBE split across packets at any byte of its head', async () => {
  const master = frontMaster(true);
  const url = new URL(await master.start());
  try {
    const port = Number(url.port);
    const whole = subscribeBytes(1, port);
    const headLength = whole.indexOf('\r\n\r\n') + 4;
    for (let cut = 1; cut <= headLength; cut++) {
      const socket = connect(port, '127.0.0.1');
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.setNoDelay(true);
      socket.write(whole.subarray(0, cut));
      await new Promise((resolve) => setImmediate(resolve));
      socket.write(whole.subarray(cut));
      await waitFor(`SUBSCRIBED with the head cut at byte ${cut}`, () =>
        Buffer.concat(received).includes('"SUBSCRIBED"') ? true : undefined,
      );
      assert.match(Buffer.concat(received).toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
      socket.destroy();
    }
    assert.equal(master.agentFrontAnswered, headLength, 'the front answered every one');
  } finally {
    await master.stop();
  }
});

test('stopping a master leaves no socket or timer of its front behind', async () => {
  const before = process.getActiveResourcesInfo();
  const master = frontMaster(true);
  const url = new URL(await master.start());
  const port = Number(url.port);
  // One connection answered (a stream open), one half-sent (still being read), one idle.
  const open = connect(port, '127.0.0.1');
  const half = connect(port, '127.0.0.1');
  const idle = connect(port, '127.0.0.1');
  const sockets = [open, half, idle];
  const closed = sockets.map(
    (socket) =>
      new Promise<void>((resolve) => {
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
        socket.resume();
      }),
  );
  const received: Buffer[] = [];
  open.on('data', (chunk: Buffer) => received.push(chunk));
  open.write(subscribeBytes(2, port));
  half.write(subscribeBytes(2, port).subarray(0, 100));
  await waitFor('SUBSCRIBED', () =>
    Buffer.concat(received).includes('"SUBSCRIBED"') ? true : undefined,
  );
  await master.stop();
  await Promise.all(closed);
  await waitFor('no handle left', () => {
    const left = [...process.getActiveResourcesInfo()];
    for (const kind of before) {
      const at = left.indexOf(kind);
      if (at >= 0) left.splice(at, 1);
    }
    return left.length === 0 ? true : undefined;
  }).catch(() => assert.deepEqual(process.getActiveResourcesInfo(), before));
});

// The simulated agents against a fake master on loopback: one subscription per agent at a
// time, as a real agent (agent/master-link.ts) runs one loop, even when a new leader is
// named while an attempt is still under way.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { mulberry32, SimAgentPool, SimNetwork, TimingWheel } from '../../src/sim/index.js';

/** RecordIO: the record's length in decimal, a newline, the record. */
function record(value: unknown): string {
  const text = JSON.stringify(value);
  return `${Buffer.byteLength(text)}\n${text}`;
}

/**
 * Answers SUBSCRIBE with a stream and SUBSCRIBED; a later SUBSCRIBE of the same agent
 * replaces its stream, whose connection the master closes (as Agora's and Mesos' do).
 * With `holdNext`, the next SUBSCRIBE's answer waits for release().
 */
function fakeMaster() {
  let subscribes = 0;
  let streamCount = 0;
  let current: ServerResponse | undefined;
  const held: { readonly answer: () => void; readonly fail: () => void }[] = [];
  /** How many of the next SUBSCRIBEs wait for release() or fail(). */
  const state = { hold: 0 };
  const answer = (res: ServerResponse) => {
    const previous = current;
    current = res;
    previous?.destroy();
    streamCount++;
    res.writeHead(200, {
      'content-type': 'application/json',
      'mesos-stream-id': `stream-${streamCount}`,
    });
    res.write(
      record({
        type: 'SUBSCRIBED',
        subscribed: { agent_id: { value: 'agent-1' }, heartbeat_interval_seconds: 15 },
      }),
    );
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      subscribes++;
      if (state.hold > 0) {
        state.hold--;
        held.push({ answer: () => answer(res), fail: () => res.destroy() });
      } else answer(res);
    });
  });
  return {
    server,
    state,
    get subscribes() {
      return subscribes;
    },
    get held() {
      return held.length;
    },
    /** The oldest held SUBSCRIBE is answered. */
    release() {
      held.shift()?.answer();
    },
    /** The oldest held SUBSCRIBE's connection is cut without an answer. */
    fail() {
      held.shift()?.fail();
    },
    /** The master goes away: the agent's stream ends. */
    dropStream() {
      current?.destroy();
      current = undefined;
    },
    get openStreams() {
      return current !== undefined && !current.destroyed ? 1 : 0;
    },
  };
}

/** Polls every 5 ms (running `step` first) until `condition` holds `times` polls in a row. */
async function until(
  what: string,
  condition: () => boolean,
  step?: () => void,
  times = 1,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let held = 0; held < times; ) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    step?.();
    await new Promise((resolve) => setTimeout(resolve, 5));
    held = condition() ? held + 1 : 0;
  }
}

async function setUp(t: TestContext) {
  const master = fakeMaster();
  master.server.listen(0, '127.0.0.1');
  await once(master.server, 'listening');
  t.after(() => {
    master.server.closeAllConnections();
    master.server.close();
  });
  const { port } = master.server.address() as AddressInfo;
  const network = new SimNetwork({ master: new URL(`http://127.0.0.1:${port}`) });
  t.after(() => network.close());
  // Attempts in flight (a SUBSCRIBE sent, its answer's headers not yet back).
  let inFlight = 0;
  const openStream = network.openStream.bind(network);
  network.openStream = (path, body) => {
    inFlight++;
    return openStream(path, body).finally(() => inFlight--);
  };
  // Simulated time: the test moves the clock, so backoffs pass without waiting for them.
  let nowMs = 0;
  const wheel = new TimingWheel(10, 0);
  const pool = new SimAgentPool({
    network,
    count: 1,
    resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }],
    wheel,
    random: mulberry32(3),
    now: () => nowMs,
  });
  t.after(() => pool.stop());
  const tick = () => {
    nowMs += 1_000;
    wheel.advance(nowMs);
  };
  await pool.start();
  assert.equal(pool.stats.subscribed, 1);
  /** Settled: nothing in flight or scheduled, one stream, through several clock steps. */
  const settled = () =>
    until(
      'one stream, nothing in flight or scheduled',
      () =>
        pool.stats.subscribed === 1 &&
        master.openStreams === 1 &&
        master.held === 0 &&
        inFlight === 0 &&
        wheel.pending === 0,
      tick,
      5,
    );
  return { master, pool, tick, settled };
}

test('an agent whose attempt is under way when a new leader is named ends with one stream, not two replacing each other', async (t) => {
  const { master, pool, tick, settled } = await setUp(t);

  // The master dies: the agent retries by itself, and that attempt is held in flight.
  master.state.hold = 1;
  master.dropStream();
  await until('the agent to try again', () => master.held === 1, tick);
  // Its detector names a new leader meanwhile: it subscribes there.
  pool.leaderChanged(1_000);
  await until('the new subscription', () => master.subscribes === 3, tick);
  await until('the agent subscribed', () => pool.stats.subscribed === 1);
  // The first attempt's answer arrives late; its stream must not replace the agent's.
  master.release();
  // Settled through several clock steps: two streams replacing each other never settle
  // (each end schedules the next attempt).
  await settled();
  // Three SUBSCRIBEs in all: the first, the attempt held, the one to the new leader; and the
  // one the held answer's late stream displaced at the master, at most.
  assert.ok(master.subscribes <= 4, `${master.subscribes} SUBSCRIBEs for one agent`);
});

test('an attempt that fails once a later one is under way does not start another, which would supersede the one in flight', async (t) => {
  const { master, pool, tick, settled } = await setUp(t);
  // The master dies; the agent's retry (to it, as far as the agent knows) is held.
  master.state.hold = 2;
  master.dropStream();
  await until('the agent to try again', () => master.held === 1, tick);
  // A new leader: the agent's new attempt is held too (its SYN waiting in a full queue).
  pool.leaderChanged(1_000);
  await until('the new attempt', () => master.held === 2, tick);
  // The first attempt fails now. It is superseded: nothing new is tried.
  master.fail();
  // The new attempt's answer comes through; the agent takes it and is done.
  master.release();
  await settled();
  // The first SUBSCRIBE, the retry, the new leader's attempt; no fourth.
  assert.equal(master.subscribes, 3);
});

// The simulated agents against a fake master on loopback: one subscription per agent at a
// time, as a real agent (agent/master-link.ts) runs one loop, even when a new leader is
// named while an attempt is still under way.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
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
  let held: (() => void) | undefined;
  const state = { holdNext: false };
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
      if (state.holdNext) {
        state.holdNext = false;
        held = () => answer(res);
      } else answer(res);
    });
  });
  return {
    server,
    state,
    get subscribes() {
      return subscribes;
    },
    get isHolding() {
      return held !== undefined;
    },
    release() {
      const run = held;
      held = undefined;
      run?.();
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

test('an agent whose attempt is under way when a new leader is named ends with one stream, not two replacing each other', async (t) => {
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

  // The master dies: the agent retries by itself, and that attempt is held in flight.
  master.state.holdNext = true;
  master.dropStream();
  await until('the agent to try again', () => master.isHolding, tick);
  // Its detector names a new leader meanwhile: it subscribes there.
  pool.leaderChanged(1_000);
  await until('the new subscription', () => master.subscribes === 3, tick);
  await until('the agent subscribed', () => pool.stats.subscribed === 1);
  // The first attempt's answer arrives late; its stream must not replace the agent's.
  master.release();
  // Settled: nothing in flight or scheduled, one stream, through several clock steps (two
  // streams replacing each other never settle: each end schedules the next attempt).
  await until(
    'one stream, nothing in flight or scheduled',
    () =>
      pool.stats.subscribed === 1 &&
      master.openStreams === 1 &&
      !master.isHolding &&
      inFlight === 0 &&
      wheel.pending === 0,
    tick,
    5,
  );
  // Three SUBSCRIBEs in all: the first, the attempt held, the one to the new leader; and the
  // one the held answer's late stream displaced at the master, at most.
  assert.ok(master.subscribes <= 4, `${master.subscribes} SUBSCRIBEs for one agent`);
});

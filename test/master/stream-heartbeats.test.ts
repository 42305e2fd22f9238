import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MESOS_API_VERSION } from '../../src/wire/index.js';
import { testMaster } from './daemon-routes.js';

/** An agent's stream: its records' event types as they come, until cancelled. */
async function agentStream(url: string, hostname: string) {
  const response = await fetch(`${url}/master/api/v1/agent`, {
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
  });
  assert.equal(response.status, 200);
  assert.ok(response.body !== null);
  const reader = response.body.getReader();
  const types: string[] = [];
  const reading = (async () => {
    let text = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done === true || value === undefined) return;
      text += new TextDecoder().decode(value);
      // RecordIO: "<length>\n<json>" (the JSON events here are ASCII).
      for (;;) {
        const newline = text.indexOf('\n');
        if (newline < 0) break;
        const length = Number(text.slice(0, newline));
        if (text.length < newline + 1 + length) break;
        const record = JSON.parse(text.slice(newline + 1, newline + 1 + length)) as {
          type: string;
        };
        types.push(record.type);
        text = text.slice(newline + 1 + length);
      }
    }
  })();
  return {
    heartbeats: () => types.filter((type) => type === 'HEARTBEAT').length,
    types,
    cancel: async () => {
      await reader.cancel();
      await reading;
    },
  };
}

async function until(what: string, holds: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!holds()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('every open stream hears HEARTBEATs, one opened later and one left after another ended', async (t) => {
  const master = testMaster({ heartbeatIntervalMs: 100 });
  t.after(() => master.stop());
  const url = await master.start();
  const first = await agentStream(url, 'first');
  await until('the first stream to hear a HEARTBEAT', () => first.heartbeats() >= 1);
  assert.equal(first.types[0], 'SUBSCRIBED');
  const second = await agentStream(url, 'second');
  await until('the second stream to hear a HEARTBEAT', () => second.heartbeats() >= 1);
  await first.cancel();
  const heard = second.heartbeats();
  await until('the second stream to go on hearing them', () => second.heartbeats() >= heard + 2);
  await second.cancel();
  // A stream opened once none is left hears them again.
  const third = await agentStream(url, 'third');
  t.after(() => third.cancel());
  await until('a stream opened after all had ended to hear one', () => third.heartbeats() >= 1);
});

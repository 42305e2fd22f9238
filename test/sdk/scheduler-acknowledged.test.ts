// The SDK's scheduler connection against a scripted master (one HTTP server the
// test drives): an update that comes again after its acknowledgement was taken,
// as one does when an agent dies before reading the acknowledgement the master
// forwarded and a newly elected master cannot know, is acknowledged again and
// never handed to the consumer twice.
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';

function record(event: unknown): string {
  const json = JSON.stringify(event);
  return `${Buffer.byteLength(json)}\n${json}`;
}

function update(uuid: string, state: string) {
  return {
    type: 'UPDATE',
    update: {
      status: {
        task_id: { value: 't1' },
        agent_id: { value: 'S0' },
        state,
        source: 'SOURCE_EXECUTOR',
        uuid,
      },
    },
  };
}

test('scheduler: an update that comes again after its acknowledgement is acked again, not delivered twice', async (t) => {
  const acks: string[] = [];
  let stream: ServerResponse | undefined;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const call = JSON.parse(body) as { type: string; acknowledge?: { uuid: string } };
      if (call.type === 'SUBSCRIBE') {
        response.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': 's1' });
        response.write(
          record({
            type: 'SUBSCRIBED',
            subscribed: { framework_id: { value: 'F1' }, heartbeat_interval_seconds: 15 },
          }),
        );
        stream = response;
        return;
      }
      if (call.type === 'ACKNOWLEDGE') acks.push(call.acknowledge?.uuid ?? '');
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const connection = await subscribe({
    master: `127.0.0.1:${port}`,
    frameworkInfo: { user: 'u', name: 'acked' },
  });
  t.after(() => connection.close());

  const seen: string[] = [];
  const events = connection.events();
  const next = async () => {
    const { value } = await events.next();
    if (value?.type === 'UPDATE') seen.push(value.update.status.uuid ?? '');
    return value;
  };
  stream?.write(record(update('dTE=', 'TASK_RUNNING')));
  await next();
  const waitForAcks = async (count: number) => {
    const deadline = Date.now() + 10_000;
    while (acks.length < count) {
      assert.ok(Date.now() < deadline, `${count} acknowledgements, saw ${acks.length}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  await waitForAcks(1);
  // The same update again (the agent lost the acknowledgement), then a new one.
  stream?.write(record(update('dTE=', 'TASK_RUNNING')));
  stream?.write(record(update('dTI=', 'TASK_FINISHED')));
  await next();
  assert.deepEqual(seen, ['dTE=', 'dTI='], 'the copy is not handed over');
  await waitForAcks(3);
  assert.deepEqual(acks.sort(), ['dTE=', 'dTE=', 'dTI='], 'the copy is acknowledged again');
});

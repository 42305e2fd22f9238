// The scheduler client's automatic acknowledgements, against a node:http server
// on port 0 that speaks the scheduler API's SUBSCRIBE stream.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { subscribe } from '../../src/sdk/index.js';
import { encodeRecord } from '../../src/wire/recordio.js';

const UPDATES = 300;

test('subscribe acknowledges a burst of updates over a few reused connections', async (t) => {
  const acknowledged = new Set<string>();
  let connections = 0;
  let stream: ServerResponse | undefined;
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const call = JSON.parse(body) as {
        type: string;
        acknowledge?: { uuid: string };
      };
      if (call.type === 'SUBSCRIBE') {
        stream = response;
        response.writeHead(200, {
          'content-type': 'application/json',
          'mesos-stream-id': 'stream-1',
        });
        response.write(
          encodeRecord(
            JSON.stringify({
              type: 'SUBSCRIBED',
              subscribed: { framework_id: { value: 'fw-1' }, heartbeat_interval_seconds: 15 },
            }),
          ),
        );
        // A thousand-instance start in miniature: every update at once.
        for (let i = 0; i < UPDATES; i++)
          response.write(
            encodeRecord(
              JSON.stringify({
                type: 'UPDATE',
                update: {
                  status: {
                    task_id: { value: `task-${i}` },
                    agent_id: { value: 'agent-1' },
                    state: 'TASK_RUNNING',
                    uuid: Buffer.from(`uuid-${i}`).toString('base64'),
                    source: 'SOURCE_EXECUTOR',
                  },
                },
              }),
            ),
          );
        return;
      }
      if (call.type === 'ACKNOWLEDGE' && call.acknowledge !== undefined)
        acknowledged.add(call.acknowledge.uuid);
      response.writeHead(202, { 'content-length': 0 });
      response.end();
    });
  });
  server.on('connection', () => (connections += 1));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    stream?.destroy();
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const connection = await subscribe({
    master: `http://127.0.0.1:${port}`,
    frameworkInfo: { user: 'test', name: 'acks' },
  });
  t.after(() => connection.close({ drainMs: 0 }));
  let updates = 0;
  for await (const event of connection.events()) {
    if (event.type === 'UPDATE') updates += 1;
    if (updates === UPDATES) break;
  }
  const deadline = Date.now() + 30_000;
  while (acknowledged.size < UPDATES && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(acknowledged.size, UPDATES, 'every update was acknowledged once');
  // One connection for the stream, one opened early for the first call (preconnect), a few
  // for the acknowledgements (8 at most in flight).
  assert.ok(connections <= 1 + 1 + 8, `${connections} connections for ${UPDATES} acknowledgements`);
});

// A master the test scripts: one HTTP server that answers SUBSCRIBE with a
// stream the test writes to, and every other call with 202 (recorded).
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export function record(event: unknown): string {
  const json = JSON.stringify(event);
  return `${Buffer.byteLength(json)}\n${json}`;
}

export interface ScriptedMaster {
  readonly address: string;
  /** Calls other than SUBSCRIBE, as parsed JSON, in order. */
  readonly calls: { type: string; acknowledge?: { uuid: string } }[];
  /** The subscription's stream, once a SUBSCRIBE came. */
  stream(): ServerResponse | undefined;
}

export async function scriptedMaster(
  t: TestContext,
  heartbeatIntervalSeconds = 15,
  port = 0,
): Promise<ScriptedMaster> {
  const calls: ScriptedMaster['calls'] = [];
  let stream: ServerResponse | undefined;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const call = JSON.parse(body) as ScriptedMaster['calls'][number];
      if (call.type === 'SUBSCRIBE') {
        response.writeHead(200, { 'content-type': 'application/json', 'mesos-stream-id': 's1' });
        response.write(
          record({
            type: 'SUBSCRIBED',
            subscribed: {
              framework_id: { value: 'F1' },
              heartbeat_interval_seconds: heartbeatIntervalSeconds,
            },
          }),
        );
        stream = response;
        return;
      }
      calls.push(call);
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address() as AddressInfo;
  return { address: `127.0.0.1:${address.port}`, calls, stream: () => stream };
}

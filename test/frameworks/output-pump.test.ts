// `agora run`'s copy of a task's output (OutputPump): every byte once, in order, through the
// last read at the task's end.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { OutputPump } from '../../src/frameworks/output-pump.js';
import { defer, waitFor } from '../integration/harness.js';

/** A stand-in for an agent's `/files/read` over `content`; `hold` keeps a request unanswered. */
async function fakeAgent(content: () => string, hold: (offset: number) => boolean) {
  const held: { res: ServerResponse; offset: number }[] = [];
  let reads = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const offset = Number(url.searchParams.get('offset'));
    reads++;
    if (hold(offset)) {
      held.push({ res, offset });
      return;
    }
    answer(res, offset);
  });
  const answer = (res: ServerResponse, offset: number) => {
    const data = Buffer.from(content()).subarray(offset).toString();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ offset, data }));
  };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/`),
    held,
    reads: () => reads,
    /** Answers the held requests now, with the content as it is now. */
    release: () => {
      for (const { res, offset } of held.splice(0)) answer(res, offset);
    },
    stop: async () => {
      for (const { res } of held.splice(0)) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function collector() {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { sink, text: () => chunks.join('') };
}

test('output written while the pump polls is copied once, in order, through the end', async (t) => {
  let content = '';
  const agent = await fakeAgent(
    () => content,
    () => false,
  );
  defer(t, () => agent.stop());
  const out = collector();
  const pump = new OutputPump([agent.url], '/runs/latest/stdout', out.sink);
  pump.start();
  const lines: string[] = [];
  for (let i = 0; i < 20; i++) {
    lines.push(`line ${i}\n`);
    content = lines.join('');
    const reads = agent.reads();
    await waitFor('a poll', () => agent.reads() > reads || undefined);
  }
  lines.push('last\n');
  content = lines.join('');
  await pump.finish();
  assert.equal(out.text(), lines.join(''));
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, get } from 'node:http';
import { type TestContext, test } from 'node:test';
import { jsonText, lazyList, streamJson } from '../../src/runtime/json-stream.js';
import { stringifyJson } from '../../src/wire/json.js';

const render = (n: number) => ({ n, name: `task ${n}`, nested: { values: [n, n * 2] } });

/** A document with lazy lists at several depths, and what it is once they are arrays. */
function documents(count: number): { lazy: unknown; eager: unknown } {
  const items = Array.from({ length: count }, (_, i) => i);
  const lazy = {
    version: '1.11.0',
    big: 1_700_000_000_000_000_123n,
    missing: undefined,
    fn: () => 1,
    date: new Date(0),
    empty: lazyList([], render),
    frameworks: [
      { id: 'f1', tasks: lazyList(items, render), labels: [undefined, 'x'] },
      { id: 'f2', tasks: lazyList(new Set(items.slice(0, 3)), render) },
    ],
    slaves: lazyList(items, (n) => ({ id: `a${n}`, time: BigInt(n) })),
    'quoted "key"': 'café ✓',
  };
  const eager = {
    ...lazy,
    empty: [],
    frameworks: [
      { id: 'f1', tasks: items.map(render), labels: [undefined, 'x'] },
      { id: 'f2', tasks: items.slice(0, 3).map(render) },
    ],
    slaves: items.map((n) => ({ id: `a${n}`, time: BigInt(n) })),
  };
  return { lazy, eager };
}

test('json stream writes the same text as stringifyJson of the rendered document', () => {
  const { lazy, eager } = documents(50);
  assert.equal(jsonText(lazy), stringifyJson(eager));
  // Not streamed, a lazy list is the array of its rendered items.
  assert.equal(stringifyJson(lazy), stringifyJson(eager));
  assert.equal(jsonText([1, 'a', null]), '[1,"a",null]');
  assert.equal(jsonText(lazyList([1, 2], () => undefined)), '[null,null]');
});

async function fetchText(
  t: TestContext,
  serve: Parameters<typeof createServer>[1],
  path = '/',
): Promise<{ headers: Record<string, unknown>; body: string }> {
  const server = createServer(serve);
  t.after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const [response] = (await once(get(`http://127.0.0.1:${address.port}${path}`), 'response')) as [
    import('node:http').IncomingMessage,
  ];
  let body = '';
  response.setEncoding('utf8');
  for await (const chunk of response) body += chunk;
  return { headers: response.headers, body };
}

test('json stream answers in many chunks with the document text, jsonp wrapped', async (t) => {
  const { lazy, eager } = documents(5_000);
  let chunks = 0;
  const { headers, body } = await fetchText(t, (_request, response) => {
    const write = response.write.bind(response);
    response.write = ((...args: Parameters<typeof write>) => {
      chunks++;
      return write(...args);
    }) as typeof response.write;
    void streamJson(response, 200, lazy, { jsonpCallback: 'cb', chunkChars: 4096 });
  });
  assert.equal(headers['content-type'], 'text/javascript');
  assert.equal(body, `cb(${stringifyJson(eager)});`);
  assert.ok(chunks > 10, `written in ${chunks} chunks`);
});

test('json stream stops quietly when the client goes away', async (t) => {
  const { lazy } = documents(50_000);
  let finished: Promise<void> | undefined;
  const server = createServer((_request, response) => {
    finished = streamJson(response, 200, lazy, { chunkChars: 1024 });
  });
  t.after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const request = get(`http://127.0.0.1:${address.port}/`);
  const [response] = (await once(request, 'response')) as [import('node:http').IncomingMessage];
  await once(response, 'data');
  request.destroy();
  assert.ok(finished !== undefined);
  await finished; // resolves, does not throw, and does not write the rest
});

// The fetcher with real files, archives and a local HTTP server: what lands in
// the sandbox, what is refused, and the cache (one download per URI, shared
// by concurrent fetches, least recently used evicted first).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  archiveKind,
  FetchError,
  Fetcher,
  outputFileError,
  parseUriSource,
} from '../../src/agent/fetcher.js';
import { chooseEvictions } from '../../src/agent/fetcher-cache.js';
import { silentLogger } from '../../src/runtime/index.js';
import type { CommandURI } from '../../src/wire/index.js';

const never = new AbortController().signal;

function dir(t: TestContext, name: string): string {
  const path = mkdtempSync(join(tmpdir(), `agora-fetch-${name}-`));
  t.after(() => rmSync(path, { recursive: true, force: true }));
  return path;
}

/** A fetcher whose cache lives in a temp dir. */
function fetcher(
  t: TestContext,
  options: { cacheSizeBytes?: number; stallTimeoutMs?: number; retryDelayMs?: number } = {},
) {
  const cacheDir = dir(t, 'cache');
  return {
    cacheDir,
    fetcher: new Fetcher({
      cacheDir,
      cacheSizeBytes: options.cacheSizeBytes ?? 1024 * 1024,
      log: silentLogger(),
      retryDelayMs: options.retryDelayMs ?? 10,
      ...(options.stallTimeoutMs !== undefined ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
    }),
  };
}

/** Serves `files` (path -> body) and counts requests per path. */
async function server(
  t: TestContext,
  files: Readonly<Record<string, Buffer | string>>,
  handle?: (request: IncomingMessage, response: ServerResponse) => boolean,
) {
  const hits = new Map<string, number>();
  const http = createServer((request, response) => {
    const path = request.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (handle?.(request, response) === true) return;
    const body = files[path];
    if (body === undefined) response.writeHead(404).end('no such file');
    else response.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(() => {
    http.closeAllConnections();
    http.close();
  });
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { base, hits };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail('expected the fetch to fail');
}

test('fetcher URI sources: absolute paths and file:// are files, http(s) downloads, others refused', () => {
  assert.deepEqual(parseUriSource('/srv/app.tgz'), { kind: 'file', path: '/srv/app.tgz' });
  assert.deepEqual(parseUriSource('file:///srv/a%20b.tgz'), { kind: 'file', path: '/srv/a b.tgz' });
  assert.equal(parseUriSource('http://example.com/x').kind, 'http');
  assert.equal(parseUriSource('https://example.com/x').kind, 'http');
  for (const [value, reason] of [
    ['hdfs://namenode/x', /unsupported scheme 'hdfs'/],
    ['ftp://example.com/x', /unsupported scheme 'ftp'/],
    ['relative/app.tgz', /--frameworks_home/],
    ['file://elsewhere/x', /local file/],
  ] as const)
    assert.throws(() => parseUriSource(value), reason, value);
});

test('fetcher output_file must be a relative path inside the sandbox', () => {
  assert.equal(outputFileError('app/bin/run'), undefined);
  assert.match(outputFileError('../escape') ?? '', /'\.\.'/);
  assert.match(outputFileError('a/../../escape') ?? '', /'\.\.'/);
  assert.match(outputFileError('/etc/passwd') ?? '', /relative/);
  assert.match(outputFileError('') ?? '', /empty/);
  assert.match(outputFileError('dir/') ?? '', /name a file/);
});

test('fetcher recognises the archive extensions Mesos does', () => {
  const cases: [string, string | undefined][] = [
    ['a.tar', 'tar'],
    ['a.tar.gz', 'tar'],
    ['a.TGZ', 'tar'],
    ['a.tar.bz2', 'tar'],
    ['a.tbz2', 'tar'],
    ['a.tar.xz', 'tar'],
    ['a.txz', 'tar'],
    ['a.zip', 'zip'],
    ['a.gz', 'gzip'],
    ['a.txt', undefined],
    ['tar', undefined],
  ];
  for (const [name, kind] of cases) assert.equal(archiveKind(name), kind, name);
});

test('fetcher cache evicts the least recently used entries not in use, or reports no room', () => {
  const entry = (
    key: string,
    size: number,
    refs = 0,
    state: 'ready' | 'downloading' = 'ready',
  ) => ({
    key,
    size,
    refs,
    state,
  });
  assert.deepEqual(chooseEvictions([entry('a', 4), entry('b', 4)], 10, 2), []);
  assert.deepEqual(chooseEvictions([entry('a', 4), entry('b', 4)], 10, 4), ['a']);
  assert.deepEqual(chooseEvictions([entry('a', 4, 1), entry('b', 4)], 10, 4), ['b']);
  assert.deepEqual(chooseEvictions([entry('a', 4), entry('b', 4)], 10, 10), ['a', 'b']);
  assert.equal(
    chooseEvictions([entry('a', 4, 1), entry('b', 4, 0, 'downloading')], 10, 4),
    undefined,
  );
  assert.equal(chooseEvictions([], 10, 11), undefined, 'bigger than the cache');
});

test('fetcher copies local files, names them, and makes them executable', async (t) => {
  const source = dir(t, 'source');
  const sandbox = dir(t, 'sandbox');
  writeFileSync(join(source, 'run.sh'), '#!/bin/sh\necho hi\n');
  writeFileSync(join(source, 'data.txt'), 'data');
  const { fetcher: f } = fetcher(t);
  await f.fetch(
    [
      { value: join(source, 'run.sh'), executable: true },
      { value: `file://${join(source, 'data.txt')}`, output_file: 'conf/renamed.txt' },
    ],
    sandbox,
    { signal: never },
  );
  assert.equal(readFileSync(join(sandbox, 'run.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
  assert.equal(statSync(join(sandbox, 'run.sh')).mode & 0o777, 0o755);
  assert.equal(readFileSync(join(sandbox, 'conf', 'renamed.txt'), 'utf8'), 'data');
  const missing = await rejection(
    f.fetch([{ value: join(source, 'nope') }], sandbox, { signal: never }),
  );
  assert.ok(missing instanceof FetchError);
  assert.match(missing.message, /Failed to fetch '.*nope': cannot read/);
});

test('fetcher reads local files as the task user it is given, not as the agent', {
  skip: process.getuid?.() === 0 ? false : 'needs root to switch users',
}, async (t) => {
  const source = dir(t, 'source');
  chmodSync(source, 0o755);
  const sandbox = dir(t, 'sandbox');
  writeFileSync(join(source, 'public.txt'), 'for anyone', { mode: 0o644 });
  writeFileSync(join(source, 'secret.txt'), 'root only', { mode: 0o600 });
  symlinkSync(join(source, 'secret.txt'), join(source, 'link.txt'));
  const nobody = { uid: 65_534, gid: 65_534 };
  const { fetcher: f } = fetcher(t);
  await f.fetch([{ value: join(source, 'public.txt') }], sandbox, { signal: never, user: nobody });
  assert.equal(readFileSync(join(sandbox, 'public.txt'), 'utf8'), 'for anyone');
  for (const name of ['secret.txt', 'link.txt']) {
    for (const cache of [false, true]) {
      const refused = await rejection(
        f.fetch([{ value: `file://${join(source, name)}`, cache }], sandbox, {
          signal: never,
          user: nobody,
        }),
      );
      assert.ok(refused instanceof FetchError, `${name}: ${String(refused)}`);
      assert.match(refused.message, /cannot read .* as uid 65534: .*Permission denied/);
    }
  }
  assert.ok(
    !existsSync(join(sandbox, 'secret.txt')) ||
      readFileSync(join(sandbox, 'secret.txt'), 'utf8') === '',
  );
  // Not a regular file: refused as before.
  const device = await rejection(
    f.fetch([{ value: '/dev/zero' }], sandbox, { signal: never, user: nobody }),
  );
  assert.match(String(device), /not a regular file/);
  // Without a user (the agent does not switch users) the agent reads it, as Mesos' does.
  await f.fetch([{ value: join(source, 'secret.txt') }], sandbox, { signal: never });
  assert.equal(readFileSync(join(sandbox, 'secret.txt'), 'utf8'), 'root only');
});

test('fetcher downloads over http, follows redirects, and says why a download failed', async (t) => {
  const { base } = await server(t, { '/app.txt': 'application' }, (request, response) => {
    if (request.url !== '/moved') return false;
    response.writeHead(301, { location: '/app.txt' }).end();
    return true;
  });
  const sandbox = dir(t, 'sandbox');
  const { fetcher: f } = fetcher(t);
  await f.fetch(
    [{ value: `${base}/app.txt` }, { value: `${base}/moved`, output_file: 'via-redirect.txt' }],
    sandbox,
    { signal: never },
  );
  assert.equal(readFileSync(join(sandbox, 'app.txt'), 'utf8'), 'application');
  assert.equal(readFileSync(join(sandbox, 'via-redirect.txt'), 'utf8'), 'application');
  const notFound = await rejection(
    f.fetch([{ value: `${base}/gone.txt` }], sandbox, { signal: never }),
  );
  assert.match(notFound.message, /Failed to fetch 'http:\/\/.*\/gone\.txt': HTTP 404 Not Found/);
  const tooBig = await rejection(
    f.fetch([{ value: `${base}/app.txt`, output_file: 'big.txt' }], sandbox, {
      signal: never,
      maxBytes: 4,
    }),
  );
  assert.match(tooBig.message, /11 bytes is more than the 4 allowed/);
  // No TLS on this machine's test server: https fails clearly rather than hanging.
  const tls = await rejection(
    f.fetch([{ value: `${base.replace('http:', 'https:')}/app.txt` }], sandbox, { signal: never }),
  );
  assert.match(tls.message, /Failed to fetch 'https:/);
});

test('fetcher gives up on a download that stalls, and stops when aborted', async (t) => {
  const { base } = await server(t, {}, (_request, response) => {
    response.writeHead(200, { 'content-length': 1000 });
    response.write('a little');
    return true; // and never more
  });
  const sandbox = dir(t, 'sandbox');
  const { fetcher: f } = fetcher(t, { stallTimeoutMs: 200 });
  const stalled = await rejection(f.fetch([{ value: `${base}/slow` }], sandbox, { signal: never }));
  assert.match(stalled.message, /no data for 0\.2s/);
  const controller = new AbortController();
  const fetching = f.fetch([{ value: `${base}/slow`, output_file: 'again' }], sandbox, {
    signal: controller.signal,
  });
  controller.abort(new Error('task killed'));
  assert.equal((await rejection(fetching)).message, 'task killed');
});

test('fetcher tries a download cut or refused by a 5xx again, whole, up to 3 times; never a 404', async (t) => {
  const body = 'x'.repeat(64 * 1024);
  let cuts = 2;
  const { base, hits } = await server(t, { '/flaky.bin': body }, (request, response) => {
    if (request.url === '/busy') {
      response.writeHead(503).end('busy');
      return true;
    }
    if (request.url !== '/flaky.bin' || cuts === 0) return false;
    cuts -= 1;
    // A link that drops mid-body: the announced length never arrives.
    response.writeHead(200, { 'content-length': Buffer.byteLength(body) });
    response.write(body.slice(0, 1000), () => response.socket?.destroy());
    return true;
  });
  const sandbox = dir(t, 'sandbox');
  for (const cacheSizeBytes of [0, 1024 * 1024]) {
    cuts = 2;
    hits.clear();
    const { fetcher: f } = fetcher(t, { cacheSizeBytes });
    const output = `flaky-${cacheSizeBytes}.bin`;
    await f.fetch([{ value: `${base}/flaky.bin`, output_file: output, cache: true }], sandbox, {
      signal: never,
    });
    assert.equal(readFileSync(join(sandbox, output), 'utf8'), body, 'every byte, once');
    assert.equal(hits.get('/flaky.bin'), 3, 'two cut tries, then a whole one');
  }
  const { fetcher: f } = fetcher(t);
  const busy = await rejection(f.fetch([{ value: `${base}/busy` }], sandbox, { signal: never }));
  assert.match(busy.message, /HTTP 503/);
  assert.equal(hits.get('/busy'), 3, 'a 5xx is tried 3 times, then reported');
  await rejection(f.fetch([{ value: `${base}/gone` }], sandbox, { signal: never }));
  assert.equal(hits.get('/gone'), 1, 'a 404 is not tried again');
});

test('fetcher resumes a download cut mid-body with Range and If-Range when the server takes ranges', async (t) => {
  const body = Buffer.from(Array.from({ length: 256 * 1024 }, (_, i) => (i * 7) % 251));
  const etag = '"v1"';
  const ranges: (string | undefined)[] = [];
  let sent = 0;
  let cutsLeft = 0;
  const { base } = await server(t, {}, (request, response) => {
    if (request.url !== '/big.bin') return false;
    ranges.push(
      request.headers.range === undefined
        ? undefined
        : `${request.headers.range} if-range ${request.headers['if-range']}`,
    );
    const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const from = match !== null && request.headers['if-range'] === etag ? Number(match[1]) : 0;
    const part = body.subarray(from);
    response.writeHead(from > 0 ? 206 : 200, {
      'content-length': part.length,
      'accept-ranges': 'bytes',
      etag,
      ...(from > 0 ? { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` } : {}),
    });
    if (cutsLeft > 0) {
      cutsLeft -= 1;
      // The connection ends a third of the way into what is sent (a FIN, not a reset, so
      // what was sent arrives and the resumption's offset is exact).
      const cut = part.subarray(0, Math.floor(part.length / 3));
      sent += cut.length;
      response.write(cut, () => response.socket?.end());
    } else {
      sent += part.length;
      response.end(part);
    }
    return true;
  });
  const sandbox = dir(t, 'sandbox');
  for (const cacheSizeBytes of [0, 1024 * 1024]) {
    ranges.length = 0;
    sent = 0;
    cutsLeft = 2;
    const { fetcher: f } = fetcher(t, { cacheSizeBytes });
    const output = `big-${cacheSizeBytes}.bin`;
    await f.fetch([{ value: `${base}/big.bin`, output_file: output, cache: true }], sandbox, {
      signal: never,
    });
    assert.ok(readFileSync(join(sandbox, output)).equals(body), 'every byte, in order, once');
    assert.equal(ranges.length, 3, 'the whole, then two resumptions');
    assert.equal(ranges[0], undefined);
    for (const range of ranges.slice(1)) assert.match(range ?? '', /^bytes=\d+- if-range "v1"$/);
    // Two whole tries after the cuts would have sent 1/3 + 1/3 + 1 = 1.67 times the file;
    // what is asked for again is only what had not reached the file when the body broke.
    assert.ok(sent < body.length * 1.25, `${sent} bytes sent for ${body.length}`);
  }
});

test('fetcher asks again for the rest when the Range request itself is cut off before its answer', async (t) => {
  const body = Buffer.from(Array.from({ length: 128 * 1024 }, (_, i) => (i * 13) % 251));
  const etag = '"v1"';
  const requests: string[] = [];
  let rangeDrops = 1;
  const { base } = await server(t, {}, (request, response) => {
    if (request.url !== '/cut.bin') return false;
    const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    requests.push(match === null ? 'whole' : `from ${match[1]}`);
    if (match === null) {
      // The first body breaks half-way (a FIN: what was sent arrives).
      response.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes', etag });
      response.write(body.subarray(0, body.length / 2), () => response.socket?.end());
      return true;
    }
    if (rangeDrops > 0) {
      // The resumption's own connection is lost before any answer.
      rangeDrops -= 1;
      request.socket.destroy();
      return true;
    }
    const from = Number(match[1]);
    response.writeHead(206, {
      'content-length': body.length - from,
      'accept-ranges': 'bytes',
      etag,
      'content-range': `bytes ${from}-${body.length - 1}/${body.length}`,
    });
    response.end(body.subarray(from));
    return true;
  });
  const sandbox = dir(t, 'sandbox');
  const { fetcher: f } = fetcher(t);
  await f.fetch([{ value: `${base}/cut.bin`, output_file: 'cut.bin' }], sandbox, { signal: never });
  assert.ok(readFileSync(join(sandbox, 'cut.bin')).equals(body), 'every byte, in order, once');
  // The whole once, then the same resumption twice (from what had reached the file), never
  // the whole again.
  assert.equal(requests.length, 3, requests.join(', '));
  assert.equal(requests[0], 'whole');
  assert.equal(requests[1], requests[2]);
  const from = Number(requests[1]?.replace('from ', ''));
  assert.ok(from > 0 && from <= body.length / 2, requests.join(', '));
});

test('fetcher starts a cut download again whole when the file changed since (If-Range)', async (t) => {
  let version = 1;
  const bodyOf = (v: number) => Buffer.alloc(64 * 1024, v);
  let requests = 0;
  const answers: string[] = [];
  const { base } = await server(t, {}, (request, response) => {
    if (request.url !== '/changing.bin') return false;
    requests += 1;
    const body = bodyOf(version);
    // Ranges only for the version asked about: a changed file comes whole (200).
    const isSame = request.headers['if-range'] === `"v${version}"`;
    const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const from = match !== null && isSame ? Number(match[1]) : 0;
    answers.push(`${request.headers.range ?? 'whole'}: ${from > 0 ? 206 : 200}`);
    response.writeHead(from > 0 ? 206 : 200, {
      'content-length': body.length - from,
      'accept-ranges': 'bytes',
      etag: `"v${version}"`,
      ...(from > 0 ? { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` } : {}),
    });
    if (requests === 1) {
      version = 2; // changed on the server while the first download was cut
      response.write(body.subarray(0, 32 * 1024), () => response.socket?.end());
    } else response.end(body.subarray(from));
    return true;
  });
  const sandbox = dir(t, 'sandbox');
  const { fetcher: f } = fetcher(t, { cacheSizeBytes: 0 });
  await f.fetch([{ value: `${base}/changing.bin`, output_file: 'c.bin' }], sandbox, {
    signal: never,
  });
  assert.ok(readFileSync(join(sandbox, 'c.bin')).equals(bodyOf(2)), 'the new version, whole');
  // Whole, the resumption answered 200 (refused), whole again; or, when nothing of the cut
  // body had reached the file, whole twice. Never a range of the old version.
  assert.ok(
    answers.join(', ') === 'whole: 200, bytes=32768-: 200, whole: 200' ||
      /^whole: 200, whole: 200$/.test(answers.join(', ')),
    answers.join(', '),
  );
});

test('fetcher extracts tar, tar.gz, zip and gz archives, keeping the archive when uncached', async (t) => {
  const source = dir(t, 'source');
  const content = dir(t, 'content');
  writeFileSync(join(content, 'inside.txt'), 'packed');
  execFileSync('tar', ['-czf', join(source, 'app.tgz'), '-C', content, 'inside.txt']);
  execFileSync('tar', ['-cf', join(source, 'plain.tar'), '-C', content, 'inside.txt']);
  execFileSync('tar', ['-cjf', join(source, 'b.tar.bz2'), '-C', content, 'inside.txt']);
  execFileSync('zip', ['-q', '-j', join(source, 'app.zip'), join(content, 'inside.txt')]);
  writeFileSync(join(source, 'notes.txt'), 'compressed');
  execFileSync('gzip', ['-k', join(source, 'notes.txt')]);
  const { fetcher: f } = fetcher(t);
  for (const name of ['app.tgz', 'plain.tar', 'b.tar.bz2', 'app.zip']) {
    const sandbox = dir(t, 'sandbox');
    await f.fetch([{ value: join(source, name) }], sandbox, { signal: never });
    assert.equal(readFileSync(join(sandbox, 'inside.txt'), 'utf8'), 'packed', name);
    assert.ok(existsSync(join(sandbox, name)), `${name} stays beside what it held`);
  }
  const sandbox = dir(t, 'sandbox');
  await f.fetch(
    [
      { value: join(source, 'notes.txt.gz') },
      { value: join(source, 'app.tgz'), extract: false, output_file: 'kept.tgz' },
    ],
    sandbox,
    { signal: never },
  );
  assert.equal(readFileSync(join(sandbox, 'notes.txt'), 'utf8'), 'compressed');
  assert.deepEqual(readdirSync(sandbox).sort(), ['kept.tgz', 'notes.txt', 'notes.txt.gz']);
});

test('fetcher says so when unzip is missing', async (t) => {
  const source = dir(t, 'source');
  writeFileSync(join(source, 'x.txt'), 'x');
  execFileSync('zip', ['-q', '-j', join(source, 'x.zip'), join(source, 'x.txt')]);
  const bin = dir(t, 'bin'); // a PATH with everything but unzip
  const path = process.env.PATH;
  process.env.PATH = bin;
  t.after(() => {
    process.env.PATH = path;
  });
  const { fetcher: f } = fetcher(t);
  const error = await rejection(
    f.fetch([{ value: join(source, 'x.zip') }], dir(t, 's'), { signal: never }),
  );
  assert.match(error.message, /cannot extract: the unzip command is not installed/);
});

test('fetcher never writes outside the sandbox, through .. or a link', async (t) => {
  const source = dir(t, 'source');
  const outside = dir(t, 'outside');
  writeFileSync(join(source, 'payload'), 'payload');
  writeFileSync(join(outside, 'victim'), 'untouched');
  const sandbox = dir(t, 'sandbox');
  symlinkSync(join(outside, 'victim'), join(sandbox, 'link-to-file'));
  symlinkSync(outside, join(sandbox, 'link-to-dir'));
  const { fetcher: f } = fetcher(t);
  const uri = (output_file: string): CommandURI => ({
    value: join(source, 'payload'),
    output_file,
  });
  const cases: [CommandURI, RegExp][] = [
    [uri('../escape'), /must not contain '\.\.'/],
    [uri('/tmp/escape'), /relative path/],
    [uri('link-to-file'), /symbolic link/],
    [uri('link-to-dir/victim'), /outside the sandbox/],
  ];
  for (const [given, reason] of cases) {
    const error = await rejection(f.fetch([given], sandbox, { signal: never }));
    assert.match(error.message, reason, given.output_file);
  }
  assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'untouched');
  assert.deepEqual(readdirSync(outside), ['victim']);
});

test('fetcher cache downloads a URI once, shared by concurrent fetches', async (t) => {
  const body = 'x'.repeat(1000);
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const { base, hits } = await server(t, {}, (request, response) => {
    if (request.url !== '/slow.txt') return false;
    response.writeHead(200, { 'content-length': body.length });
    void held.then(() => response.end(body));
    return true;
  });
  const { fetcher: f, cacheDir } = fetcher(t);
  const sandboxes = [dir(t, 'a'), dir(t, 'b'), dir(t, 'c')];
  const uri = { value: `${base}/slow.txt`, cache: true };
  const concurrent = sandboxes
    .slice(0, 2)
    .map((sandbox) => f.fetch([uri], sandbox, { signal: never }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  release();
  await Promise.all(concurrent);
  const [, , third] = sandboxes;
  assert.ok(third !== undefined);
  await f.fetch([uri], third, { signal: never });
  assert.equal(hits.get('/slow.txt'), 1, 'one download for three fetches');
  for (const sandbox of sandboxes)
    assert.equal(readFileSync(join(sandbox, 'slow.txt'), 'utf8'), body);
  assert.deepEqual(f.cacheUsage, { bytes: 1000, entries: 1 });
  assert.equal(readdirSync(cacheDir).length, 1);
});

test('fetcher cache extracts cached archives straight into the sandbox', async (t) => {
  const source = dir(t, 'source');
  const content = dir(t, 'content');
  writeFileSync(join(content, 'inside.txt'), 'packed');
  execFileSync('tar', ['-czf', join(source, 'app.tar.gz'), '-C', content, 'inside.txt']);
  const { fetcher: f } = fetcher(t);
  const sandbox = dir(t, 'sandbox');
  await f.fetch([{ value: join(source, 'app.tar.gz'), cache: true }], sandbox, { signal: never });
  assert.deepEqual(readdirSync(sandbox), ['inside.txt'], 'only what the archive held');
});

test('fetcher cache evicts least recently used files to stay within its size', async (t) => {
  const files = { '/a': 'a'.repeat(1000), '/b': 'b'.repeat(1000), '/c': 'c'.repeat(1000) };
  const { base, hits } = await server(t, files);
  const { fetcher: f, cacheDir } = fetcher(t, { cacheSizeBytes: 2500 });
  const fetchOne = (path: string) =>
    f.fetch([{ value: `${base}${path}`, cache: true }], dir(t, 's'), { signal: never });
  for (const path of ['/a', '/b', '/a', '/c', '/a', '/b']) await fetchOne(path);
  // a, b cached; a used again; c evicts b (least recent); a hits; b comes back, evicting c.
  assert.deepEqual(Object.fromEntries(hits), { '/a': 1, '/b': 2, '/c': 1 });
  assert.ok(f.cacheUsage.bytes <= 2500);
  assert.equal(readdirSync(cacheDir).length, 2);
});

test('fetcher cache is bypassed for a download of unknown size, and off at size 0', async (t) => {
  const { base, hits } = await server(t, {}, (_request, response) => {
    response.writeHead(200); // chunked: no Content-Length
    response.end('streamed');
    return true;
  });
  const { fetcher: f, cacheDir } = fetcher(t);
  for (let i = 0; i < 2; i++) {
    const sandbox = dir(t, 's');
    await f.fetch([{ value: `${base}/stream.txt`, cache: true }], sandbox, { signal: never });
    assert.equal(readFileSync(join(sandbox, 'stream.txt'), 'utf8'), 'streamed');
  }
  assert.equal(hits.get('/stream.txt'), 2);
  assert.deepEqual(readdirSync(cacheDir), []);
  const off = fetcher(t, { cacheSizeBytes: 0 });
  const sandbox = dir(t, 's');
  await off.fetcher.fetch([{ value: `${base}/stream.txt`, cache: true }], sandbox, {
    signal: never,
  });
  assert.equal(readFileSync(join(sandbox, 'stream.txt'), 'utf8'), 'streamed');
});

test('fetcher start clears what an earlier agent cached, and nothing else', async (t) => {
  const { fetcher: f, cacheDir } = fetcher(t);
  writeFileSync(join(cacheDir, 'agora-fetch-7'), 'stale');
  writeFileSync(join(cacheDir, 'agora-fetch-8.tmp'), 'partial');
  writeFileSync(join(cacheDir, 'operator-notes'), 'keep');
  mkdirSync(join(cacheDir, 'agora-fetch-dir'));
  await f.start();
  assert.deepEqual(readdirSync(cacheDir).sort(), ['agora-fetch-dir', 'operator-notes']);
});

test('fetcher keeps every byte of a small .gz, however fast gzip exits', async (t) => {
  // Node discards a child's stdout that nothing has read when the child exits; a gzip that
  // finished before the output file was open left it empty about one time in four.
  const source = dir(t, 'source');
  writeFileSync(join(source, 'tiny.txt'), 'compressed');
  execFileSync('gzip', ['-k', join(source, 'tiny.txt')]);
  const { fetcher: f } = fetcher(t);
  for (let i = 0; i < 40; i++) {
    const sandbox = dir(t, 'sandbox');
    await f.fetch([{ value: join(source, 'tiny.txt.gz') }], sandbox, { signal: never });
    assert.equal(readFileSync(join(sandbox, 'tiny.txt'), 'utf8'), 'compressed', `fetch ${i}`);
  }
});

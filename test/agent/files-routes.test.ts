// `/files/read`, `/files/browse` and `/files/download` over real files laid out
// as an agent's work dir, with a hostile task's tricks played on the sandbox:
// swapping a file for a symlink mid-request, FIFOs, devices, sockets, links out.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { type FilesBed, type Reply, startFilesBed } from './files-bed.js';

interface Entry {
  readonly path: string;
  readonly size: number;
  readonly mode: string;
}

const read = (bed: FilesBed, path: string, extra: Record<string, string> = {}) =>
  bed.get('/files/read', { path, offset: '0', ...extra });

function assertNo5xx(replies: readonly Reply[], what: string): void {
  const failed = replies.filter((r) => r.status >= 500);
  assert.deepEqual(
    failed.map((r) => `${r.status} ${r.body}`),
    [],
    `${what}: no 5xx`,
  );
}

/**
 * Swaps `<dir>/x` between a regular file holding 'inside' and a symlink to
 * `target`, each swap an atomic rename, in a tight loop for `durationMs`.
 */
function startSwapper(dir: string, target: string, durationMs: number): ChildProcess {
  const script = `
    const { renameSync, symlinkSync, writeFileSync } = require('node:fs');
    const { join } = require('node:path');
    const [dir, target, ms] = process.argv.slice(1);
    const x = join(dir, 'x'), link = join(dir, 'x.link'), file = join(dir, 'x.file');
    const end = Date.now() + Number(ms);
    process.stdout.write('swapping\\n');
    while (Date.now() < end) {
      symlinkSync(target, link);
      renameSync(link, x);
      writeFileSync(file, 'inside');
      renameSync(file, x);
    }`;
  return spawn(process.execPath, ['-e', script, dir, target, String(durationMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

test('files read and download never serve a file outside the sandbox while a task swaps in a symlink', async (t) => {
  const bed = await startFilesBed(t);
  writeFileSync(join(bed.sandbox, 'x'), 'inside');
  const swapper = startSwapper(bed.sandbox, bed.secretPath, 3_000);
  const exited = once(swapper, 'exit');
  t.after(() => swapper.kill('SIGKILL'));
  if (swapper.stdout !== null) await once(swapper.stdout, 'data');
  let isSwapping = true;
  void exited.then(() => (isSwapping = false));

  const path = `${bed.virtualSandbox}/x`;
  const replies: Reply[] = [];
  const broken: string[] = [];
  // A broken exchange is kept with whatever bytes arrived, so a leak cannot hide in it.
  const record = (reply: Promise<Reply>) =>
    reply.then(
      (r) => void replies.push(r),
      (error: Error & { rawPacket?: Buffer }) =>
        void broken.push(`${error.message} ${error.rawPacket?.toString('latin1') ?? ''}`),
    );
  const hammer = async () => {
    while (isSwapping) {
      await record(read(bed, path));
      await record(bed.get('/files/download', { path }));
      await record(bed.get('/files/browse', { path: bed.virtualSandbox }));
    }
  };
  await Promise.all(Array.from({ length: 8 }, hammer));

  const leaked = [...replies.map((r) => r.body), ...broken].filter((b) => b.includes('SECRET'));
  assert.equal(leaked.length, 0, `${leaked.length} of ${replies.length} answers held the secret`);
  assert.deepEqual(broken, [], 'no exchange broke');
  assertNo5xx(replies, 'the swap race');
  const servedInside = replies.filter(
    (r) => r.status === 200 && (r.body === 'inside' || r.body.includes('"data":"inside"')),
  );
  assert.ok(servedInside.length > 0, `some of ${replies.length} answers served 'inside'`);
  const refused = replies.filter((r) => r.status === 404).length;
  t.diagnostic(
    `${replies.length} answers: ${servedInside.length} served 'inside', ${refused} refused as missing`,
  );
  assert.deepEqual(bed.openDescriptorsInBase(), [], 'no descriptor left open');
});

test('files answer 4xx for a FIFO at once and keep serving other files afterwards', async (t) => {
  const bed = await startFilesBed(t);
  bed.makeFifo('fifo');
  writeFileSync(join(bed.sandbox, 'stdout'), 'still here');
  const path = `${bed.virtualSandbox}/fifo`;
  // libuv's pool has 4 threads: 12 requests would exhaust it three times over.
  for (let i = 0; i < 4; i++) {
    const replies = await Promise.all([
      read(bed, path, {}),
      bed.get('/files/download', { path }, 2_000),
      bed.get('/files/browse', { path }, 2_000),
    ]);
    for (const reply of replies) {
      assert.equal(reply.status, 400, reply.body);
      assert.match(reply.body, /fifo' is a FIFO, not a regular file/);
    }
  }
  const after = await read(bed, `${bed.virtualSandbox}/stdout`);
  assert.deepEqual(JSON.parse(after.body), { offset: 0, data: 'still here' });
});

test('files browse lists symlinks as links, dangling ones too, without following them', async (t) => {
  const bed = await startFilesBed(t);
  writeFileSync(join(bed.sandbox, 'stdout'), 'out');
  symlinkSync('/etc/passwd', join(bed.sandbox, 'passwd'));
  symlinkSync('/', join(bed.sandbox, 'root'));
  symlinkSync(join(bed.base, 'nowhere'), join(bed.sandbox, 'dangling'));
  symlinkSync('stdout', join(bed.sandbox, 'alias'));
  mkdirSync(join(bed.sandbox, 'dir'));
  const reply = await bed.get('/files/browse', { path: bed.virtualSandbox });
  assert.equal(reply.status, 200, reply.body);
  const entries = JSON.parse(reply.body) as Entry[];
  const byName = new Map(entries.map((e) => [e.path.split('/').pop(), e]));
  assert.deepEqual([...byName.keys()], ['alias', 'dangling', 'dir', 'passwd', 'root', 'stdout']);
  assert.equal(byName.get('stdout')?.path, `${bed.virtualSandbox}/stdout`);
  const cases: [name: string, size: number][] = [
    ['passwd', '/etc/passwd'.length],
    ['root', 1],
    ['dangling', join(bed.base, 'nowhere').length],
    ['alias', 'stdout'.length],
  ];
  for (const [name, size] of cases) {
    const entry = byName.get(name);
    assert.match(entry?.mode ?? '', /^l[rwx-]{9}$/, `${name} is listed as a link`);
    assert.equal(entry?.size, size, `${name} has the link's own size`);
  }
  assert.match(byName.get('dir')?.mode ?? '', /^d/);
  assert.match(byName.get('stdout')?.mode ?? '', /^-rw/);
  assert.equal(byName.get('stdout')?.size, 3);
});

test('files refuse a symlink that leads outside the sandboxes as if nothing were there', async (t) => {
  const bed = await startFilesBed(t);
  symlinkSync(bed.secretPath, join(bed.sandbox, 'secret'));
  symlinkSync('/etc/passwd', join(bed.sandbox, 'passwd'));
  symlinkSync(join(bed.base, 'outside'), join(bed.sandbox, 'outdir'));
  symlinkSync('../../../../../../../../..', join(bed.sandbox, 'up'));
  symlinkSync('/', join(bed.sandbox, 'root'));
  const paths = ['secret', 'passwd', 'outdir/secret', 'up/etc/passwd', 'root/etc/passwd', 'outdir'];
  for (const name of paths) {
    const path = `${bed.virtualSandbox}/${name}`;
    for (const reply of [
      await read(bed, path),
      await bed.get('/files/download', { path }),
      await bed.get('/files/browse', { path }),
    ]) {
      assert.equal(reply.status, 404, `${name}: ${reply.body}`);
      assert.equal(reply.body, `no file at '${path}'\n`);
    }
  }
  const missing = await read(bed, `${bed.virtualSandbox}/missing`);
  assert.equal(missing.body, `no file at '${bed.virtualSandbox}/missing'\n`, 'same as missing');
});

test('files serve a symlink that resolves inside the sandboxes, as Mesos does', async (t) => {
  const bed = await startFilesBed(t);
  writeFileSync(join(bed.sandbox, 'stdout'), '0123456789');
  mkdirSync(join(bed.sandbox, 'logs'));
  symlinkSync('stdout', join(bed.sandbox, 'alias'));
  symlinkSync(join(bed.sandbox, 'stdout'), join(bed.sandbox, 'absolute'));
  symlinkSync('../stdout', join(bed.sandbox, 'logs', 'up'));
  symlinkSync('logs', join(bed.sandbox, 'logdir'));
  for (const name of ['alias', 'absolute', 'logs/up', 'logdir/up']) {
    const path = `${bed.virtualSandbox}/${name}`;
    assert.deepEqual(JSON.parse((await read(bed, path, { length: '4' })).body), {
      offset: 0,
      data: '0123',
    });
    const download = await bed.get('/files/download', { path });
    assert.equal(download.status, 200);
    assert.equal(download.body, '0123456789');
  }
  const browse = await bed.get('/files/browse', { path: `${bed.virtualSandbox}/logdir` });
  assert.equal(browse.status, 200, browse.body);
  assert.deepEqual(
    (JSON.parse(browse.body) as Entry[]).map((e) => e.path),
    [`${bed.virtualSandbox}/logdir/up`],
  );
  const real = await read(bed, join(bed.sandbox, 'alias'));
  assert.deepEqual(JSON.parse(real.body), { offset: 0, data: '0123456789' }, 'by its real path');
});

test('files refuse a character device or a socket with 400 naming what it is', async (t) => {
  const bed = await startFilesBed(t);
  const socketPath = join(bed.sandbox, 'socket');
  const server = createServer();
  server.listen(socketPath);
  await once(server, 'listening');
  t.after(() => server.close());
  const cases: [name: string, what: RegExp][] = [['socket', /is a socket, not a regular file/]];
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    assert.equal(spawnSync('mknod', [join(bed.sandbox, 'null'), 'c', '1', '3']).status, 0);
    cases.push(['null', /is a character device, not a regular file/]);
  } else t.diagnostic('not root: the character device case is skipped');
  for (const [name, what] of cases) {
    const path = `${bed.virtualSandbox}/${name}`;
    for (const reply of [
      await read(bed, path),
      await bed.get('/files/download', { path }),
      await bed.get('/files/browse', { path }),
    ]) {
      assert.equal(reply.status, 400, `${name}: ${reply.body}`);
      assert.match(reply.body, what);
    }
  }
  const listing = await bed.get('/files/browse', { path: bed.virtualSandbox });
  const modes = (JSON.parse(listing.body) as Entry[]).map((e) => e.mode[0]);
  assert.deepEqual(modes, isRoot ? ['c', 's'] : ['s']);
});

test('files answer 400 for a bad path and 404 for one that leaves the sandboxes', async (t) => {
  const bed = await startFilesBed(t);
  writeFileSync(join(bed.sandbox, 'stdout'), 'out');
  const cases: [path: string, status: number, message: RegExp][] = [
    ['', 400, /path: is required/],
    [`${bed.virtualSandbox}/std\0out`, 400, /path: must not contain a NUL byte/],
    [`${bed.virtualSandbox}/${'a/'.repeat(2100)}`, 400, /path: is longer than 4096 bytes/],
    [`${bed.virtualSandbox}/${'a'.repeat(300)}`, 400, /path: has a name longer than 255 bytes/],
    [`${bed.virtualSandbox}/../../../../../../../../../etc/passwd`, 404, /no file at/],
    ['/etc/passwd', 404, /no file at/],
    [bed.secretPath, 404, /no file at/],
    [`${bed.sandbox}/../../../../../../../../outside/secret`, 404, /no file at/],
    [`${bed.virtualSandbox}/stdout/more`, 404, /no file at/],
    ['relative/path', 404, /no file at/],
  ];
  for (const [path, status, message] of cases)
    for (const route of ['/files/read', '/files/download', '/files/browse']) {
      const reply = await bed.get(route, { path, offset: '0' });
      assert.equal(reply.status, status, `${route} ${path.slice(0, 80)}: ${reply.body}`);
      assert.match(reply.body, message, `${route} ${path.slice(0, 80)}`);
    }
  const dotted = await read(bed, `${bed.virtualSandbox}/./logs/../stdout`);
  assert.deepEqual(JSON.parse(dotted.body), { offset: 0, data: 'out' }, 'dots that stay inside');
});

test('files read keeps its offset and length rules', async (t) => {
  const bed = await startFilesBed(t);
  writeFileSync(join(bed.sandbox, 'stdout'), '0123456789');
  writeFileSync(join(bed.sandbox, 'utf8'), 'a€b');
  const path = `${bed.virtualSandbox}/stdout`;
  const body = async (query: Record<string, string>) => {
    const reply = await bed.get('/files/read', { path, ...query });
    assert.equal(reply.status, 200, reply.body);
    return JSON.parse(reply.body) as unknown;
  };
  assert.deepEqual(await body({ offset: '2', length: '3' }), { offset: 2, data: '234' });
  assert.deepEqual(await body({ offset: '-1' }), { offset: 10, data: '' });
  assert.deepEqual(await body({}), { offset: 10, data: '' });
  assert.deepEqual(await body({ offset: '50' }), { offset: 50, data: '' });
  assert.deepEqual(await body({ offset: '8', length: '-1' }), { offset: 8, data: '89' });
  assert.deepEqual(await body({ offset: '0', length: '0' }), { offset: 0, data: '' });
  const cut = await bed.get('/files/read', {
    path: `${bed.virtualSandbox}/utf8`,
    offset: '0',
    length: '3',
  });
  assert.deepEqual(JSON.parse(cut.body), { offset: 0, data: 'a' }, 'never half a character');
  const bad: [query: Record<string, string>, message: RegExp][] = [
    [{ offset: 'ten' }, /offset: 'ten' is not an integer/],
    [{ offset: '-2' }, /offset: must be -1 or a non-negative integer/],
    [{ offset: '0', length: '-2' }, /length: must be -1 or a non-negative integer/],
    [{ offset: '1e400' }, /offset: '1e400' is not an integer/],
  ];
  for (const [query, message] of bad) {
    const reply = await bed.get('/files/read', { path, ...query });
    assert.equal(reply.status, 400, JSON.stringify(query));
    assert.match(reply.body, message);
  }
  const directory = await read(bed, bed.virtualSandbox);
  assert.equal(directory.status, 400);
  assert.match(directory.body, /is a directory/);
});

test('files download sends the bytes with their length and a safe file name', async (t) => {
  const bed = await startFilesBed(t);
  writeFileSync(join(bed.sandbox, 'stdout'), 'hello\n');
  writeFileSync(join(bed.sandbox, 'empty'), '');
  writeFileSync(join(bed.sandbox, 'prix €\n"x".txt'), 'euro');
  const reply = await bed.get('/files/download', { path: `${bed.virtualSandbox}/stdout` });
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'hello\n');
  assert.equal(reply.headers['content-length'], '6');
  assert.equal(reply.headers['content-type'], 'application/octet-stream');
  assert.equal(reply.headers['content-disposition'], 'attachment; filename=stdout');
  const empty = await bed.get('/files/download', { path: `${bed.virtualSandbox}/empty` });
  assert.equal(empty.status, 200);
  assert.equal(empty.body, '');
  const odd = await bed.get('/files/download', {
    path: `${bed.virtualSandbox}/prix €\n"x".txt`,
  });
  assert.equal(odd.status, 200, odd.body);
  assert.equal(odd.body, 'euro');
  assert.equal(
    odd.headers['content-disposition'],
    `attachment; filename="prix ___x_.txt"; filename*=UTF-8''prix%20%E2%82%AC%0A%22x%22.txt`,
  );
  const directory = await bed.get('/files/download', { path: bed.virtualSandbox });
  assert.equal(directory.status, 400);
  assert.match(directory.body, /is a directory/);
});

test('files leave no descriptor open after refused and failed requests', async (t) => {
  const bed = await startFilesBed(t);
  bed.makeFifo('fifo');
  writeFileSync(join(bed.sandbox, 'stdout'), 'out');
  symlinkSync(bed.secretPath, join(bed.sandbox, 'secret'));
  symlinkSync(join(bed.base, 'outside'), join(bed.sandbox, 'outdir'));
  const paths = ['fifo', 'secret', 'outdir/secret', 'missing', 'stdout/more', 'stdout'];
  const replies: Reply[] = [];
  for (let round = 0; round < 20; round++)
    for (const name of paths) {
      const path = `${bed.virtualSandbox}/${name}`;
      replies.push(
        ...(await Promise.all([
          read(bed, path),
          bed.get('/files/download', { path }, 2_000),
          bed.get('/files/browse', { path }, 2_000),
        ])),
      );
    }
  assertNo5xx(replies, 'refused requests');
  assert.deepEqual(bed.openDescriptorsInBase(), []);
});

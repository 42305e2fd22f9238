// SandboxFile in-process, on real files: what it opens, what it refuses and
// with which code, and that it never keeps a descriptor it did not hand out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { SandboxFile, SandboxRoot } from '../../src/agent/sandbox-file.js';
import { AgoraError } from '../../src/wire/errors.js';

interface Layout {
  readonly base: string;
  readonly root: SandboxRoot;
  /** A directory under the root holding `stdout` ('0123456789'). */
  readonly sandbox: string;
  /** A file outside the root. */
  readonly secret: string;
}

function layout(t: TestContext): Layout {
  const base = mkdtempSync(join(tmpdir(), 'agora-sandbox-file-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const slaves = join(base, 'slaves');
  const sandbox = join(slaves, 'S0', 'run');
  mkdirSync(sandbox, { recursive: true });
  writeFileSync(join(sandbox, 'stdout'), '0123456789');
  mkdirSync(join(base, 'outside'));
  const secret = join(base, 'outside', 'secret');
  writeFileSync(secret, 'secret');
  return { base, root: new SandboxRoot(slaves), sandbox, secret };
}

/** The code of the AgoraError that `open` rejects with. */
async function refusal(root: SandboxRoot, path: string): Promise<string> {
  try {
    const file = await SandboxFile.open(root, path);
    await file.close();
  } catch (error) {
    assert.ok(error instanceof AgoraError, `${path}: ${String(error)}`);
    return error.code;
  }
  return 'OPENED';
}

function descriptorsInto(dir: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(dir) ? [target] : [];
    } catch {
      return [];
    }
  });
}

test('sandbox file opens a regular file and reads only what is asked', async (t) => {
  const { root, sandbox } = layout(t);
  const file = await SandboxFile.open(root, join(sandbox, 'stdout'), 'shown');
  try {
    assert.equal(file.kind, 'file');
    assert.equal(file.shownPath, 'shown');
    assert.equal(file.stats.size, 10);
    assert.equal((await file.read(2, 3)).toString(), '234');
    assert.equal((await file.read(8, 100)).toString(), '89');
    assert.equal((await file.read(50, 10)).length, 0);
    assert.equal((await file.read(0, 0)).length, 0);
  } finally {
    await file.close();
  }
});

test('sandbox file opens the root and its directories, and lists entries without following links', async (t) => {
  const { root, sandbox, secret } = layout(t);
  symlinkSync(secret, join(sandbox, 'link'));
  const top = await SandboxFile.open(root, root.dir);
  await top.close();
  assert.equal(top.kind, 'directory');
  const dir = await SandboxFile.open(root, sandbox);
  try {
    assert.equal(dir.kind, 'directory');
    const entries = await dir.list();
    assert.deepEqual(
      entries.map((e) => [e.name, e.stats.isSymbolicLink(), e.stats.size]),
      [
        ['link', true, secret.length],
        ['stdout', false, 10],
      ],
    );
  } finally {
    await dir.close();
  }
});

test('sandbox file follows links only while they stay under the root', async (t) => {
  const { root, sandbox, secret, base } = layout(t);
  symlinkSync('stdout', join(sandbox, 'alias'));
  symlinkSync('../run/./stdout', join(sandbox, 'roundabout'));
  symlinkSync(secret, join(sandbox, 'secret'));
  symlinkSync(join(base, 'outside'), join(sandbox, 'outdir'));
  symlinkSync('../../..', join(sandbox, 'up'));
  symlinkSync('loop-b', join(sandbox, 'loop-a'));
  symlinkSync('loop-a', join(sandbox, 'loop-b'));
  symlinkSync('self', join(sandbox, 'self'));
  symlinkSync('/dev', join(sandbox, 'dev'));
  const cases: [name: string, expected: string][] = [
    ['alias', 'OPENED'],
    ['roundabout', 'OPENED'],
    ['secret', 'NOT_FOUND'],
    ['outdir/secret', 'NOT_FOUND'],
    ['up/outside/secret', 'NOT_FOUND'],
    ['up/slaves/S0/run/stdout', 'NOT_FOUND'], // `up` leaves the root even if it comes back
    ['loop-a', 'NOT_FOUND'],
    ['self', 'NOT_FOUND'],
    ['dev/null', 'NOT_FOUND'],
    ['stdout/more', 'NOT_FOUND'],
    ['missing', 'NOT_FOUND'],
  ];
  for (const [name, expected] of cases)
    assert.equal(await refusal(root, join(sandbox, name)), expected, name);
  assert.equal(await refusal(root, secret), 'NOT_FOUND');
  assert.equal(await refusal(root, '/'), 'NOT_FOUND');
  assert.equal(await refusal(root, `${root.dir}/..`), 'NOT_FOUND');
  const alias = await SandboxFile.open(root, join(sandbox, 'alias'));
  assert.equal((await alias.read(0, 4)).toString(), '0123');
  await alias.close();
});

test('sandbox file opens the directory a link ends on when it climbs with `..`', async (t) => {
  const { root, sandbox, base } = layout(t);
  symlinkSync('..', join(sandbox, 'parent'));
  symlinkSync('../..', join(sandbox, 'top'));
  const parent = await SandboxFile.open(root, join(sandbox, 'parent'));
  try {
    assert.equal(parent.kind, 'directory');
    assert.equal(parent.realPath, join(base, 'slaves', 'S0'));
    assert.deepEqual(
      (await parent.list()).map((e) => e.name),
      ['run'],
    );
  } finally {
    await parent.close();
  }
  const top = await SandboxFile.open(root, join(sandbox, 'top'));
  assert.equal(top.realPath, join(base, 'slaves'));
  await top.close();
  assert.deepEqual(descriptorsInto(base), []);
});

test('sandbox file refuses what is neither a regular file nor a directory with 400', async (t) => {
  const { root, sandbox } = layout(t);
  assert.equal(spawnSync('mkfifo', [join(sandbox, 'fifo')]).status, 0);
  await assert.rejects(SandboxFile.open(root, join(sandbox, 'fifo'), 'f'), {
    code: 'BAD_REQUEST',
    message: "path: 'f' is a FIFO, not a regular file or directory",
  });
});

test('sandbox file refuses malformed paths with 400 before touching the disk', async (t) => {
  const { root, sandbox } = layout(t);
  const cases: [path: string, message: RegExp][] = [
    [`${sandbox}/a\0b`, /NUL/],
    [`${sandbox}/${'x'.repeat(4096)}`, /PATH_MAX/],
    [`${sandbox}/${'é'.repeat(128)}`, /NAME_MAX/], // 256 bytes
  ];
  for (const [path, message] of cases)
    await assert.rejects(SandboxFile.open(root, path), { code: 'BAD_REQUEST', message });
});

test('sandbox file answers 404 for everything while the root does not exist', async (t) => {
  const { base } = layout(t);
  const root = new SandboxRoot(join(base, 'not-yet'));
  assert.equal(await refusal(root, join(base, 'not-yet', 'x')), 'NOT_FOUND');
  mkdirSync(join(base, 'not-yet'));
  writeFileSync(join(base, 'not-yet', 'x'), 'x');
  assert.equal(await refusal(root, join(base, 'not-yet', 'x')), 'OPENED', 'once it exists');
});

test('sandbox file fails closed where there is no /proc to check descriptors', async (t) => {
  const { root, sandbox } = layout(t);
  const platform = Object.getOwnPropertyDescriptor(process, 'platform');
  assert.ok(platform !== undefined);
  Object.defineProperty(process, 'platform', { value: 'darwin' });
  t.after(() => Object.defineProperty(process, 'platform', platform));
  assert.equal(await refusal(root, join(sandbox, 'stdout')), 'NOT_IMPLEMENTED');
});

test('sandbox file keeps no descriptor after any refusal', async (t) => {
  const { root, sandbox, secret, base } = layout(t);
  assert.equal(spawnSync('mkfifo', [join(sandbox, 'fifo')]).status, 0);
  symlinkSync(secret, join(sandbox, 'secret'));
  symlinkSync(join(base, 'outside'), join(sandbox, 'outdir'));
  symlinkSync('loop', join(sandbox, 'loop'));
  symlinkSync('../../../outside', join(sandbox, 'up'));
  const names = ['fifo', 'secret', 'outdir/secret', 'loop', 'up/secret', 'stdout/x', 'missing'];
  assert.deepEqual(descriptorsInto(base), []);
  for (let round = 0; round < 50; round++)
    for (const name of names) assert.notEqual(await refusal(root, join(sandbox, name)), 'OPENED');
  assert.deepEqual(descriptorsInto(base), []);
});

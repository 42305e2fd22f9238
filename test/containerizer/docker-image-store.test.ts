// The image store against hostile archives: a layer's link to a host directory
// never lets a later layer (or the same one) write there, and an archive that
// names paths outside itself is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { DockerImageStore } from '../../src/containerizer/index.js';

function tar(args: readonly string[]): void {
  const result = spawnSync('tar', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tar ${args.join(' ')}: ${result.stderr}`);
}

/** An archive of `layers` (each a list of tar invocations appending to it), as docker save writes. */
function archive(
  dir: string,
  name: string,
  layers: readonly ((tarPath: string) => void)[],
  manifest?: unknown,
): void {
  const out = join(dir, `out-${name}`);
  mkdirSync(out, { recursive: true });
  const paths: string[] = [];
  for (const [i, make] of layers.entries()) {
    mkdirSync(join(out, `l${i}`));
    make(join(out, `l${i}`, 'layer.tar'));
    paths.push(`l${i}/layer.tar`);
  }
  const config = JSON.stringify({ config: { Cmd: ['/x'] }, rootfs: { diff_ids: [] } });
  const hex = createHash('sha256').update(config).digest('hex');
  writeFileSync(join(out, `${hex}.json`), config);
  writeFileSync(
    join(out, 'manifest.json'),
    JSON.stringify(manifest ?? [{ Config: `${hex}.json`, RepoTags: [name], Layers: paths }]),
  );
  mkdirSync(join(dir, 'registry', 'evil'), { recursive: true });
  tar(['-C', out, '-cf', join(dir, 'registry', `${name}.tar`), '.']);
}

function bed(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'agora-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const host = join(dir, 'host');
  mkdirSync(host);
  const store = new DockerImageStore({
    registryDir: join(dir, 'registry'),
    storeDir: join(dir, 'store'),
  });
  return { dir, host, store };
}

test('a link to a host directory in one layer does not let the next layer write there', async (t) => {
  const { dir, host, store } = bed(t);
  const linkDir = join(dir, 'link');
  mkdirSync(linkDir);
  symlinkSync(host, join(linkDir, 'escape'));
  const fileDir = join(dir, 'file');
  mkdirSync(join(fileDir, 'escape'), { recursive: true });
  writeFileSync(join(fileDir, 'escape', 'pwned'), 'x');
  archive(dir, 'evil/layers:1', [
    (path) => tar(['-C', linkDir, '-cf', path, 'escape']),
    (path) => tar(['-C', fileDir, '-cf', path, 'escape']),
  ]);
  const image = await store.get('evil/layers:1');
  assert.deepEqual(readdirSync(host), [], 'nothing was written through the link');
  // The upper layer's directory replaced the link in the image.
  assert.ok(lstatSync(join(image.rootfs, 'escape')).isDirectory());
  assert.equal(readFileSync(join(image.rootfs, 'escape', 'pwned'), 'utf8'), 'x');
});

test('a link and a file through it in one layer are refused, and the host is untouched', async (t) => {
  const { dir, host, store } = bed(t);
  const linkDir = join(dir, 'link');
  mkdirSync(linkDir);
  symlinkSync(host, join(linkDir, 'escape'));
  const fileDir = join(dir, 'file');
  mkdirSync(join(fileDir, 'escape'), { recursive: true });
  writeFileSync(join(fileDir, 'escape', 'pwned'), 'x');
  archive(dir, 'evil/one:1', [
    (path) => {
      tar(['-C', linkDir, '-cf', path, 'escape']);
      tar(['-C', fileDir, '-rf', path, 'escape/pwned']);
    },
  ]);
  await assert.rejects(store.get('evil/one:1'), /Failed to unpack/);
  assert.deepEqual(readdirSync(host), []);
  assert.deepEqual(readdirSync(join(dir, 'store', 'staging')), [], 'staging is cleaned up');
});

test('an archive naming a layer outside itself is refused', async (t) => {
  const { dir, store } = bed(t);
  archive(dir, 'evil/manifest:1', [], [{ Config: '../../x.json', Layers: [] }]);
  await assert.rejects(store.get('evil/manifest:1'), /outside itself/);
  assert.equal(existsSync(join(dir, 'store', 'images')), false);
});

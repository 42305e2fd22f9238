// A `docker save` archive written directly (there is no image registry here,
// and the Mesos containerizer's images need no dockerd): manifest.json, the
// image config, one layer.tar per layer. The test image has two layers: the
// first a busybox-static rootfs (as docker-harness.ts imports it) with a few
// marker files, the second whiteouts that remove one of them and empty a
// directory (`.wh.` and `.wh..wh..opq`), and a file of its own.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const BUSYBOX = '/usr/bin/busybox';

export interface ImageArchiveOptions {
  /** Where the archive goes: `<registryDir>/<repository>:<tag>.tar`. */
  readonly registryDir: string;
  readonly repository: string;
  readonly tag: string;
  /** The image's runtime configuration (`config` of the image config). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Scratch space for the layers. */
  readonly scratch: string;
}

/** Installs busybox-static when missing (as root; tests run as root here). */
function ensureBusybox(): void {
  if (existsSync(BUSYBOX)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'busybox-static']]) {
    const result = spawnSync('apt-get', args, { env, stdio: 'ignore', timeout: 300_000 });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed: ${result.status}`);
  }
}

function tar(args: readonly string[]): void {
  const result = spawnSync('tar', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tar ${args.join(' ')}: ${result.stderr}`);
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Writes the two-layer busybox image; returns the archive's path. */
export function writeBusyboxImage(options: ImageArchiveOptions): string {
  ensureBusybox();
  const { scratch } = options;
  const base = join(scratch, 'layer1');
  for (const sub of ['bin', 'tmp', 'etc', 'opt/dir', 'work'])
    mkdirSync(join(base, sub), { recursive: true });
  spawnSync('cp', [BUSYBOX, join(base, 'bin', 'busybox')]);
  const applets = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).stdout.split('\n');
  for (const applet of applets)
    if (/^[a-z0-9_.[-]+$/i.test(applet) && applet !== 'busybox')
      symlinkSync('busybox', join(base, 'bin', applet));
  writeFileSync(join(base, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(base, 'etc', 'agora-image'), 'from layer 1\n');
  writeFileSync(join(base, 'etc', 'gone'), 'removed by layer 2\n');
  writeFileSync(join(base, 'opt', 'dir', 'lower'), 'hidden by layer 2\n');
  const upper = join(scratch, 'layer2');
  mkdirSync(join(upper, 'etc'), { recursive: true });
  mkdirSync(join(upper, 'opt', 'dir'), { recursive: true });
  writeFileSync(join(upper, 'etc', '.wh.gone'), '');
  writeFileSync(join(upper, 'opt', 'dir', '.wh..wh..opq'), '');
  writeFileSync(join(upper, 'opt', 'dir', 'upper'), 'from layer 2\n');

  const out = join(scratch, 'archive');
  const layerPaths: string[] = [];
  const diffIds: string[] = [];
  for (const [i, dir] of [base, upper].entries()) {
    const tarPath = join(out, `layer${i}`, 'layer.tar');
    mkdirSync(dirname(tarPath), { recursive: true });
    tar(['-C', dir, '--numeric-owner', '-cf', tarPath, '.']);
    layerPaths.push(`layer${i}/layer.tar`);
    diffIds.push(`sha256:${sha256(tarPath)}`);
  }
  const configJson = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: options.config,
    rootfs: { type: 'layers', diff_ids: diffIds },
  });
  const configHex = createHash('sha256').update(configJson).digest('hex');
  writeFileSync(join(out, `${configHex}.json`), configJson);
  const name = `${options.repository}:${options.tag}`;
  writeFileSync(
    join(out, 'manifest.json'),
    JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [name], Layers: layerPaths }]),
  );
  const archive = join(options.registryDir, `${name}.tar`);
  mkdirSync(dirname(archive), { recursive: true });
  tar(['-C', out, '-cf', archive, '.']);
  return archive;
}

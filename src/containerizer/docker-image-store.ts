// The Docker image store of the Mesos containerizer (--docker_store_dir): images
// come from a local registry directory (--docker_registry, archives that
// `docker save` wrote), each layer is unpacked once into `layers/<id>/rootfs`
// (Mesos' store layout), and the layers of an image are stacked once into
// `images/<config id>/rootfs`, whiteouts applied (`.wh.<name>` removes a lower
// layer's file, `.wh..wh..opq` empties a lower layer's directory). Containers
// get an overlay (or a copy) of that stacked rootfs. Layers are unpacked by tar
// into empty directories and stacked by a walk that never follows a link, so a
// hostile layer's symlink cannot make a later layer write outside the store.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  copyFile,
  lchown,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import {
  type ImageConfig,
  parseImageConfig,
  parseImageReference,
  registryArchivePaths,
} from './image-runtime.js';

const run = promisify(execFile);
/** How long unpacking one archive or layer may take. */
const TAR_TIMEOUT_MS = 10 * 60_000;
/** The most layers an image may have (Docker's own limit is 127 for overlay2). */
const MAX_LAYERS = 128;
const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';

export interface StoredImage {
  /** The stacked root filesystem: read-only for containers (overlay lower, or copied). */
  readonly rootfs: string;
  readonly config: ImageConfig;
}

interface ManifestEntry {
  readonly Config: string;
  readonly RepoTags?: readonly string[] | null;
  readonly Layers: readonly string[];
}

export class DockerImageStore {
  /** Images being pulled, by reference: a second launch waits for the first pull. */
  private readonly pulling = new Map<string, Promise<StoredImage>>();

  constructor(
    private readonly options: {
      /** --docker_registry: the directory of `docker save` archives. */
      readonly registryDir: string;
      /** --docker_store_dir. */
      readonly storeDir: string;
    },
  ) {}

  /** The image named `name`, pulled from the local registry on first use. */
  get(name: string): Promise<StoredImage> {
    const reference = parseImageReference(name);
    const key = JSON.stringify(reference);
    const pending = this.pulling.get(key);
    if (pending !== undefined) return pending;
    const pull = this.pull(name, reference).finally(() => this.pulling.delete(key));
    this.pulling.set(key, pull);
    return pull;
  }

  private async pull(
    name: string,
    reference: ReturnType<typeof parseImageReference>,
  ): Promise<StoredImage> {
    const candidates = registryArchivePaths(this.options.registryDir, reference);
    let archive: string | undefined;
    for (const path of candidates)
      if ((await stat(path).catch(() => undefined))?.isFile() === true) {
        archive = path;
        break;
      }
    if (archive === undefined)
      throw new Error(
        `Failed to find image '${name}' in the local registry ${this.options.registryDir} (looked for ${candidates.map((c) => relative(this.options.registryDir, c)).join(', ')})`,
      );
    const { storeDir } = this.options;
    const staging = join(storeDir, 'staging', randomBytes(8).toString('hex'));
    await mkdir(staging, { recursive: true });
    try {
      const unpacked = join(staging, 'archive');
      await mkdir(unpacked);
      await untar(archive, unpacked);
      const entry = pickManifest(await readJson(join(unpacked, 'manifest.json')), name);
      const configPath = inside(unpacked, entry.Config);
      const configBytes = await readFile(configPath);
      const configId = createHash('sha256').update(configBytes).digest('hex');
      const config = parseImageConfig(JSON.parse(configBytes.toString('utf8')));
      const imageDir = join(storeDir, 'images', configId);
      if ((await stat(join(imageDir, 'rootfs')).catch(() => undefined)) !== undefined)
        return { rootfs: join(imageDir, 'rootfs'), config };
      const diffIds = diffIdsOf(JSON.parse(configBytes.toString('utf8')));
      const layerDirs: string[] = [];
      for (const [i, layer] of entry.Layers.entries()) {
        const layerPath = inside(unpacked, layer);
        const id = diffIds[i] ?? (await sha256File(layerPath));
        layerDirs.push(await this.storeLayer(id, layerPath, staging));
      }
      const stacked = join(staging, 'image');
      await mkdir(join(stacked, 'rootfs'), { recursive: true });
      for (const layerDir of layerDirs) await applyLayer(layerDir, join(stacked, 'rootfs'));
      await writeFile(join(stacked, 'config.json'), configBytes);
      await mkdir(join(storeDir, 'images'), { recursive: true });
      await rename(stacked, imageDir).catch(async (error: NodeJS.ErrnoException) => {
        // Another agent on this store stacked it meanwhile: theirs is as good.
        if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
      });
      return { rootfs: join(imageDir, 'rootfs'), config };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Unpacks a layer once into `layers/<id>/rootfs`; its directory. */
  private async storeLayer(id: string, layerPath: string, staging: string): Promise<string> {
    if (!/^[a-f0-9]{64}$/.test(id)) throw new Error(`layer id '${id}' is not a sha256 digest`);
    const dir = join(this.options.storeDir, 'layers', id);
    if ((await stat(join(dir, 'rootfs')).catch(() => undefined)) !== undefined)
      return join(dir, 'rootfs');
    const tmp = join(staging, `layer-${id}`);
    await mkdir(join(tmp, 'rootfs'), { recursive: true });
    await untar(layerPath, join(tmp, 'rootfs'));
    await mkdir(join(this.options.storeDir, 'layers'), { recursive: true });
    await rename(tmp, dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
    return join(dir, 'rootfs');
  }
}

/** GNU tar, owners and modes as recorded (numeric ids: the host's names mean nothing here). */
async function untar(archive: string, into: string): Promise<void> {
  try {
    await run('tar', ['-x', '-f', archive, '-C', into, '--numeric-owner', '--same-permissions'], {
      timeout: TAR_TIMEOUT_MS,
      maxBuffer: 1024 * 1024,
    });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(
      `Failed to unpack ${archive}: ${stderr.slice(-500) || (error as Error).message}`,
    );
  }
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(
      `the image archive has no readable ${relative(join(path, '..'), path)}: ${(error as Error).message}`,
    );
  }
}

/** The manifest entry for the image: the one tagged with its name, or the only one. */
function pickManifest(json: unknown, name: string): ManifestEntry {
  if (!Array.isArray(json) || json.length === 0)
    throw new Error("the image archive's manifest.json lists no image");
  const entries = json.filter(
    (e): e is ManifestEntry =>
      typeof e === 'object' &&
      e !== null &&
      typeof (e as ManifestEntry).Config === 'string' &&
      Array.isArray((e as ManifestEntry).Layers) &&
      (e as ManifestEntry).Layers.every((l) => typeof l === 'string'),
  );
  const tagged = entries.find((e) => e.RepoTags?.includes(name) === true);
  const entry = tagged ?? (entries.length === 1 ? entries[0] : undefined);
  if (entry === undefined)
    throw new Error(`the image archive's manifest.json has no usable entry for '${name}'`);
  if (entry.Layers.length > MAX_LAYERS)
    throw new Error(`the image has ${entry.Layers.length} layers, more than ${MAX_LAYERS}`);
  return entry;
}

/** The layers' uncompressed digests (the config's rootfs.diff_ids), hex only. */
function diffIdsOf(config: unknown): string[] {
  const rootfs = (config as { rootfs?: { diff_ids?: unknown } } | null)?.rootfs;
  const ids = Array.isArray(rootfs?.diff_ids) ? rootfs.diff_ids : [];
  return ids.map((id) => (typeof id === 'string' ? id.replace(/^sha256:/, '') : ''));
}

/** A path an archive names, which must stay inside the unpacked archive. */
function inside(root: string, path: string): string {
  const full = join(root, path);
  if (relative(root, full).startsWith('..') || full === root)
    throw new Error(`the image archive names a path outside itself: '${path}'`);
  return full;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * Stacks one layer onto `dst`: its whiteouts remove what lower layers put there, then
 * its entries replace or join them. `dst` is always a real directory of ours; nothing
 * is followed through a link (a link in `dst` that a directory replaces is removed).
 */
export async function applyLayer(src: string, dst: string): Promise<void> {
  const entries = await readdir(src, { withFileTypes: true });
  const names = new Set(entries.map((e) => e.name));
  if (names.has(OPAQUE))
    for (const lower of await readdir(dst))
      await rm(join(dst, lower), { recursive: true, force: true });
  for (const entry of entries)
    if (entry.name !== OPAQUE && entry.name.startsWith(WHITEOUT))
      await rm(join(dst, entry.name.slice(WHITEOUT.length)), { recursive: true, force: true });
  for (const entry of entries) {
    if (entry.name.startsWith(WHITEOUT)) continue;
    const from = join(src, entry.name);
    const to = join(dst, entry.name);
    const info = await lstat(from);
    const existing = await lstat(to).catch(() => undefined);
    if (info.isDirectory()) {
      if (existing !== undefined && !existing.isDirectory()) await rm(to, { force: true });
      if (existing === undefined || !existing.isDirectory()) await mkdir(to);
      await applyLayer(from, to);
      await lchown(to, info.uid, info.gid);
      await chmod(to, info.mode & 0o7777);
      continue;
    }
    if (existing !== undefined) await rm(to, { recursive: true, force: true });
    if (info.isSymbolicLink()) {
      await symlink(await readlink(from), to);
      await lchown(to, info.uid, info.gid);
    } else if (info.isFile()) {
      // The store is one filesystem: a hard link shares the layer's file, owner and mode.
      await link(from, to).catch(async () => {
        await copyFile(from, to);
        await lchown(to, info.uid, info.gid);
        await chmod(to, info.mode & 0o7777);
      });
    } else {
      // Devices, FIFOs, sockets: cp makes them as they are (-a: no link followed).
      await run('cp', ['-a', '--', from, to]);
    }
  }
}

// LIST_FILES and READ_FILE (WIRE §6.1) over what a daemon serves (the master its log at
// `/master/log`, an agent its sandboxes), through the same opener as /files/*: nothing else is reachable.
import type { Stats } from 'node:fs';
import { BadRequestError, nanosFromMs } from '../wire/index.js';
import { type FileOpener, readWindow, withFile } from './files-routes.js';

/** v1 FileInfo (mesos.proto): mode is the raw st_mode, mtime a TimeInfo. */
function fileInfo(path: string, stats: Stats) {
  return {
    path,
    nlink: stats.nlink,
    size: stats.size,
    // Mesos reports whole seconds of mtime, in nanoseconds.
    mtime: { nanoseconds: nanosFromMs(Math.floor(stats.mtimeMs / 1000) * 1000) },
    mode: stats.mode,
    uid: String(stats.uid),
    gid: String(stats.gid),
  };
}

/**
 * LIST_FILES: a directory's entries; a file lists itself, as `ls` does. (Mesos
 * answers an empty list for a file, which tells a client nothing; the master
 * attaches only its log, so a listing is how one learns its size and mtime.)
 */
export function listFiles(open: FileOpener, path: string) {
  return withFile(open, path, async (file) => ({
    file_infos:
      file.kind === 'file'
        ? [fileInfo(file.shownPath, file.stats)]
        : (await file.list()).map(({ name, stats }) =>
            fileInfo(`${file.shownPath}/${name}`, stats),
          ),
  }));
}

/**
 * READ_FILE: `size` is the file's, `data` the bytes at `offset` (base64, as
 * `bytes` go in JSON): none past the end or for a length of 0, to the end when
 * no length is given, 16 pages at most, as Mesos reads (files.cpp).
 */
export function readFile(open: FileOpener, path: string, offset: number, length?: number) {
  return withFile(open, path, async (file) => {
    if (file.kind === 'directory') throw new BadRequestError('read_file.path', 'is a directory');
    const size = file.stats.size;
    const bytes = await file.read(offset, readWindow(size, offset, length));
    return { size, data: bytes.toString('base64') };
  });
}

// What the master serves under /files/* and LIST_FILES/READ_FILE: files it
// attached under virtual paths, as Mesos' master attaches its log at
// `/master/log` (files.cpp `attach`). Agora logs to stdout; with --log_dir it
// also writes `<log_dir>/agora-master.log`, and that file is `/master/log`
// (else --external_log_file, as Mesos falls back to it). Nothing else is
// reachable: a request names a virtual path, which is looked up, never joined
// to a directory, so no `..` or link can lead anywhere else.
import { posix } from 'node:path';
import { HttpError, openRegularFile, type ServedFile } from '../runtime/index.js';

export class AttachedFiles {
  private readonly byVirtualPath = new Map<string, string>();

  /** Serves the regular file at `realPath` as `virtualPath`. */
  attach(realPath: string, virtualPath: string): void {
    this.byVirtualPath.set(virtualPath, realPath);
  }

  /** Opens what `path` names; 404 for anything not attached. */
  open = async (path: string): Promise<ServedFile> => {
    const tidy = posix.normalize(`/${path}`).replace(/(.)\/$/, '$1');
    const real = this.byVirtualPath.get(tidy);
    if (real === undefined) throw new HttpError('NOT_FOUND', `no file at '${path}'`);
    return openRegularFile(real, tidy);
  };

  /** `/files/debug`: each virtual path and the file it stands for. */
  debug = (): Record<string, string> => Object.fromEntries(this.byVirtualPath);
}

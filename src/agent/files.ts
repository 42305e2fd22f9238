// `/files/*` (WIRE §7.4) and the agent's LIST_FILES and READ_FILE: sandbox
// files, by real path or by the virtual path
// `/frameworks/<fid>/executors/<eid>/runs/latest/...`. Everything opens through
// SandboxFile (sandbox-file.ts), which reaches nothing outside the sandboxes and
// nothing but regular files and directories; the routes themselves (runtime's
// serveFiles) read only from the descriptor it opened.
import { posix } from 'node:path';
import {
  type HttpServer,
  readWindow,
  type ServedFile,
  serveFiles,
  withFile,
} from '../runtime/index.js';
import { BadRequestError } from '../wire/index.js';
import { SandboxFile, SandboxRoot } from './sandbox-file.js';

export interface SandboxRoots {
  /** `<work_dir>/slaves/<agent_id>`, or undefined before the agent has an id. */
  readonly agentDir: () => string | undefined;
  /** `<work_dir>/slaves`: the only tree /files may serve. */
  readonly slavesDir: string;
}

/** The sandboxes' files, for /files, the operator API and attached output. */
export class SandboxFiles {
  private readonly root: SandboxRoot;

  constructor(private readonly roots: SandboxRoots) {
    this.root = new SandboxRoot(roots.slavesDir);
  }

  /** Opens `given` (a real or virtual path) inside the sandboxes, or throws NOT_FOUND. */
  readonly open = (given: string): Promise<ServedFile> => {
    const agentDir = this.roots.agentDir();
    const isVirtual = given.startsWith('/frameworks/') && agentDir !== undefined;
    const path = isVirtual ? posix.join(agentDir, given) : given;
    return SandboxFile.open(this.root, path, given);
  };

  /**
   * The file's size, and with an offset the bytes from there (at most 16
   * pages, as /files/read gives them), for a follower of a task's output.
   */
  read(
    given: string,
    offset: number | undefined,
  ): Promise<{ readonly size: number; readonly offset: number; readonly bytes: Buffer }> {
    return withFile(this.open, given, async (file) => {
      if (file.kind === 'directory') throw new BadRequestError('path', 'is a directory');
      const size = file.stats.size;
      if (offset === undefined) return { size, offset: size, bytes: Buffer.alloc(0) };
      return { size, offset, bytes: await file.read(offset, readWindow(size, offset, undefined)) };
    });
  }
}

export function routeFiles(http: HttpServer, files: SandboxFiles): void {
  serveFiles(http, files.open);
}

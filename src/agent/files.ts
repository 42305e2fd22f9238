// `/files/*` (WIRE §7.4) and the agent's LIST_FILES and READ_FILE: sandbox
// files, by real path or by the virtual path
// `/frameworks/<fid>/executors/<eid>/runs/latest/...`. Everything opens through
// SandboxFile (sandbox-file.ts), which reaches nothing outside the sandboxes and
// nothing but regular files and directories; the routes themselves (runtime's
// serveFiles) read only from the descriptor it opened.
import { posix } from 'node:path';
import {
  type FileOpener,
  HttpError,
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
  /**
   * Whether `principal` may read in the sandbox of `owner` (undefined: a directory above
   * every sandbox); ACL access_sandboxes. Absent, anyone may.
   */
  readonly mayAccess?: (principal: string | undefined, owner: SandboxOwner | undefined) => boolean;
}

/** The executor whose sandbox a file is in. */
export interface SandboxOwner {
  readonly frameworkIdValue: string;
  readonly executorIdValue: string;
}

/**
 * Whose sandbox a path relative to `<work_dir>/slaves` is in:
 * `<agent_id>/frameworks/<fid>/executors/<eid>/…`; undefined above a sandbox.
 */
export function sandboxOwner(relativePath: string): SandboxOwner | undefined {
  const [, frameworks, frameworkIdValue, executors, executorIdValue] = relativePath.split('/');
  if (frameworks !== 'frameworks' || executors !== 'executors') return undefined;
  if (frameworkIdValue === undefined || executorIdValue === undefined) return undefined;
  return { frameworkIdValue, executorIdValue };
}

/** The sandboxes' files, for /files, the operator API and attached output. */
export class SandboxFiles {
  private readonly root: SandboxRoot;

  constructor(private readonly roots: SandboxRoots) {
    this.root = new SandboxRoot(roots.slavesDir);
  }

  /** Opens `given` (a real or virtual path) inside the sandboxes, or throws NOT_FOUND. */
  readonly open = (given: string): Promise<ServedFile> => this.openInside(given);

  /**
   * The opener for a request by `principal`: a file in a sandbox it may not access (by
   * where the file really is, after links, not by the path asked for) is FORBIDDEN.
   */
  openerFor(principal: string | undefined): FileOpener {
    const mayAccess = this.roots.mayAccess;
    if (mayAccess === undefined) return this.open;
    return async (given) => {
      const file = await this.openInside(given);
      const rootReal = (await this.root.real()) ?? this.roots.slavesDir;
      const owner = sandboxOwner(posix.relative(rootReal, file.realPath));
      if (mayAccess(principal, owner)) return file;
      await file.close();
      const who = principal === undefined ? 'an anonymous caller' : `principal '${principal}'`;
      throw new HttpError(
        'FORBIDDEN',
        `Forbidden: ${who} is not authorized to access_sandboxes on '${given}'`,
      );
    };
  }

  private openInside(given: string): Promise<SandboxFile> {
    const agentDir = this.roots.agentDir();
    const isVirtual = given.startsWith('/frameworks/') && agentDir !== undefined;
    const path = isVirtual ? posix.join(agentDir, given) : given;
    return SandboxFile.open(this.root, path, given);
  }

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
  serveFiles(http, files.open, {
    openerFor: (request) => files.openerFor(request.principal?.value),
  });
}

// `/files/*` (WIRE §7.4) on the agent: sandbox files, by real path or by the
// virtual path `/frameworks/<fid>/executors/<eid>/runs/latest/...`. Every route
// opens through SandboxFile (sandbox-file.ts), which reaches nothing outside the
// sandboxes and nothing but regular files and directories; the routes
// themselves (runtime's serveFiles) read only from the descriptor it opened.
import { posix } from 'node:path';
import { type HttpServer, serveFiles } from '../runtime/index.js';
import { SandboxFile, SandboxRoot } from './sandbox-file.js';

export interface SandboxRoots {
  /** `<work_dir>/slaves/<agent_id>`, or undefined before the agent has an id. */
  readonly agentDir: () => string | undefined;
  /** `<work_dir>/slaves`: the only tree /files may serve. */
  readonly slavesDir: string;
}

export function routeFiles(http: HttpServer, roots: SandboxRoots): void {
  const root = new SandboxRoot(roots.slavesDir);
  serveFiles(http, (given) => {
    const agentDir = roots.agentDir();
    const isVirtual = given.startsWith('/frameworks/') && agentDir !== undefined;
    const path = isVirtual ? posix.join(agentDir, given) : given;
    return SandboxFile.open(root, path, given);
  });
}

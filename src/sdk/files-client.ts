import { getJson } from './http-client.js';

/** The most `/files/read` returns at once (16 pages, WIRE §7.4). */
export const MAX_READ_BYTES = 16 * 4096;

export interface FileChunk {
  readonly offset: number;
  readonly data: string;
}

/**
 * Reads a sandbox file through an agent's `/files/read`. The agent cuts reads on
 * UTF-8 character boundaries, so the next offset is offset + byteLength(data).
 * `agent` is the agent's URL, or any base that serves `files/read` under its
 * path, such as the master's `/master/agents/<agent id>/` (for agents behind NAT).
 */
export async function readFile(
  agent: URL,
  path: string,
  offset: number,
  options: { readonly length?: number; readonly signal?: AbortSignal } = {},
): Promise<FileChunk> {
  const base = agent.pathname.endsWith('/') ? agent : new URL(`${agent.pathname}/`, agent);
  const url = new URL('files/read', base);
  url.searchParams.set('path', path);
  url.searchParams.set('offset', String(offset));
  url.searchParams.set('length', String(options.length ?? MAX_READ_BYTES));
  return getJson<FileChunk>(url, options.signal !== undefined ? { signal: options.signal } : {});
}

/** The path under which an agent serves the newest run of an executor's sandbox (WIRE §5). */
export function sandboxPath(frameworkId: string, executorId: string, file: string): string {
  return `/frameworks/${frameworkId}/executors/${executorId}/runs/latest/${file}`;
}

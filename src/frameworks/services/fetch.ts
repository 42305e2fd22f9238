// Marathon's `fetch` (docs/docs/application-basics.md, "Using Resources in
// Applications"): the newer form of `uris`, one object per artifact, mapped
// onto Mesos' CommandInfo.URI (value, executable, extract, cache, output_file)
// for the agent's fetcher. Marathon refuses an app that gives both `uris` and
// `fetch`. Pure.
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { CommandURI } from '../../wire/index.js';

export interface FetchUri {
  readonly uri: string;
  readonly executable: boolean;
  readonly extract: boolean;
  readonly cache: boolean;
  /** Where the file lands in the sandbox (CommandInfo.URI.output_file). */
  readonly destPath?: string;
}

/** Why a destPath would be refused by the agent's fetcher, checked up front so it answers 422 not a failed task. */
function destPathError(path: string): string | undefined {
  if (isAbsolute(path)) return 'must be a path relative to the sandbox';
  if (path.split('/').includes('..')) return "must not contain '..'";
  if (path.endsWith('/')) return 'must name a file';
  if (path.includes('\0')) return 'must not contain a NUL byte';
  return undefined;
}

export const fetchUriSchema = z
  .object({
    uri: z.string().min(1).max(4096),
    executable: z.boolean().default(false),
    // Marathon's default: archives are unpacked unless told otherwise.
    extract: z.boolean().default(true),
    cache: z.boolean().default(false),
    destPath: z
      .string()
      .min(1)
      .max(4096)
      .superRefine((path, ctx) => {
        const error = destPathError(path);
        if (error !== undefined) ctx.addIssue({ code: 'custom', message: error });
      })
      .optional(),
  })
  .strict();

/** The task's CommandInfo.uris for an app's `uris` (plain strings) or `fetch` entries. */
export function commandUris(
  uris: readonly string[],
  fetch: readonly FetchUri[] | undefined,
): CommandURI[] {
  return [
    ...uris.map((value) => ({ value })),
    ...(fetch ?? []).map((f) => ({
      value: f.uri,
      executable: f.executable,
      extract: f.extract,
      cache: f.cache,
      ...(f.destPath !== undefined ? { output_file: f.destPath } : {}),
    })),
  ];
}

// Marathon's `fetch` (docs/docs/application-basics.md, "Using Resources in
// Applications"): the newer form of `uris`, one object per artifact, mapped
// onto Mesos' CommandInfo.URI (value, executable, extract, cache, output_file)
// for the agent's fetcher. Marathon refuses an app that gives both `uris` and
// `fetch`. Pure.
import { z } from 'zod';
import { type CommandURI, outputFileProblem } from '../../wire/index.js';

export interface FetchUri {
  readonly uri: string;
  readonly executable: boolean;
  readonly extract: boolean;
  readonly cache: boolean;
  /** Where the file lands in the sandbox (CommandInfo.URI.output_file). */
  readonly destPath?: string;
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
        // The agent's fetcher's own rule, checked up front: a 422, not a failed task.
        const error = outputFileProblem(path);
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

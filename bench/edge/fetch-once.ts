// bench:edge's fetch for the fetch-resume run (#15): the agent's own Fetcher, in an
// agent's namespace, fetches one URI into a fresh sandbox (no cache) and says how long
// it took, whether it succeeded, and whether the bytes are the file's.
//
// Run: node --import tsx fetch-once.ts '{"uri":…,"size":N}'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fetcher } from '../../src/agent/fetcher.js';
import { createLogger } from '../../src/runtime/index.js';

const config = JSON.parse(process.argv[2] ?? '{}') as { uri: string; size: number };
const dir = mkdtempSync(join(tmpdir(), 'agora-bench-fetch-'));
const fetcher = new Fetcher({
  cacheDir: join(dir, 'cache'),
  cacheSizeBytes: 0,
  // Its warnings (a cut, a resumption, a try again) go to stdout with the result.
  log: createLogger('bench-fetch', { level: 'warn' }),
  // A cut connection is a reset (RST), seen at once; a stall this long would be a frozen link.
  stallTimeoutMs: 20_000,
});
const t0 = performance.now();
try {
  await fetcher.start();
  await fetcher.fetch([{ value: config.uri, extract: false }], dir, {
    signal: AbortSignal.timeout(10 * 60_000),
  });
  const bytes = readFileSync(join(dir, 'file'));
  let isIntact = bytes.length === config.size;
  for (let i = 0; isIntact && i < bytes.length; i++)
    isIntact = bytes[i] === Math.imul(i, 2654435761) >>> 24;
  process.stdout.write(
    `${JSON.stringify({ event: 'fetched', ms: performance.now() - t0, isIntact })}\n`,
  );
} catch (error) {
  process.stdout.write(
    `${JSON.stringify({ event: 'failed', ms: performance.now() - t0, error: String(error) })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

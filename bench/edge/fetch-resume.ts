// bench:edge's fetch over a slow link that is cut mid-download (#15): the agent's
// Fetcher, in an agent's namespace, fetches a file from a server in the master's
// namespace through the shaping relay (delay, a throughput limit), and the relay
// resets the connection (RST) at fixed times. Against a server that takes byte
// ranges the download resumes where it was cut (Range, If-Range); against one that
// does not, each try starts the file again (3 tries, 1 s then 2 s apart). Per case:
// the time to the file, whether it came intact, and the bytes over the slow link.
import { join } from 'node:path';
import { Relay } from '../../test/edge/edge-cluster.js';
import type { BedProcess, NetBed } from '../../test/edge/netbed.js';
import { waitFor } from '../../test/integration/harness.js';

const HERE = import.meta.dirname;

export interface FetchCase {
  readonly resumable: boolean;
  readonly ok: boolean;
  readonly isIntact: boolean;
  readonly ms: number;
  /** Bytes the relay delivered (both ways; the requests are small): what crossed the slow link. */
  readonly bytesOverLink: number;
  readonly requests: number;
  readonly error?: string;
  /** The fetcher's warnings, in order: each cut, resumption and new try. */
  readonly events: readonly string[];
}

export interface FetchResumeOptions {
  readonly sizeBytes: number;
  readonly bytesPerSec: number;
  readonly delayMs: number;
  /** When the relay resets the download's connection, from its first connection. */
  readonly cutsAtMs: readonly number[];
}

function node(script: string, config: unknown): string[] {
  return [process.execPath, '--import', 'tsx', join(HERE, script), JSON.stringify(config)];
}

async function listeningPort(proc: BedProcess): Promise<number> {
  return waitFor(`${proc.name} to listen`, () => {
    const line = proc.lines.find((l) => l.event === 'listening');
    return typeof line?.port === 'number' ? line.port : undefined;
  });
}

export async function fetchCase(
  bed: NetBed,
  resumable: boolean,
  options: FetchResumeOptions,
): Promise<FetchCase> {
  const env = { ...process.env, NODE_OPTIONS: '' };
  const server = bed.spawnIn(
    bed.masterNs,
    `file-server-${resumable}`,
    node('file-server.ts', { host: bed.masterIp, port: 0, size: options.sizeBytes, resumable }),
    env,
  );
  try {
    const port = await listeningPort(server);
    const relay = await Relay.start(bed, 1, port);
    try {
      await relay.command({
        cmd: 'set',
        delayMs: options.delayMs,
        jitterMs: 0,
        bytesPerSec: options.bytesPerSec,
      });
      const fetch = bed.spawnIn(
        bed.host(1).ns,
        `fetch-${resumable}`,
        node('fetch-once.ts', { uri: `http://${relay.address}/file`, size: options.sizeBytes }),
        env,
      );
      const t0 = performance.now();
      // The cuts count from the download's first connection: the fetch process's own start
      // (seconds on a loaded machine) is not the link's.
      await waitFor('the download to connect', async () =>
        (await relay.stats()).accepted > 0 ? true : undefined,
      );
      const cuts = options.cutsAtMs.map((atMs) =>
        setTimeout(() => void relay.command({ cmd: 'reset' }).catch(() => undefined), atMs),
      );
      try {
        const result = await waitFor(
          'the fetch to end',
          () => fetch.lines.find((l) => l.event === 'fetched' || l.event === 'failed'),
          10 * 60_000,
        );
        await fetch.exited;
        // The server logs a response when its connection closes: wait for the last.
        await new Promise((resolve) => setTimeout(resolve, 500));
        const responses = server.lines.filter((l) => l.event === 'response');
        const { bytesForwarded } = await relay.stats();
        return {
          resumable,
          ok: result.event === 'fetched',
          isIntact: result.isIntact === true,
          ms: typeof result.ms === 'number' ? result.ms : performance.now() - t0,
          bytesOverLink: bytesForwarded,
          requests: responses.length,
          ...(typeof result.error === 'string' ? { error: result.error } : {}),
          events: fetch.lines.flatMap((l) =>
            typeof l.msg === 'string'
              ? [
                  `${l.msg}${typeof l.err === 'string' ? ` (${l.err})` : ''}${typeof l.offset === 'number' ? ` at ${l.offset}` : ''}`,
                ]
              : [],
          ),
        };
      } finally {
        for (const cut of cuts) clearTimeout(cut);
        await fetch.stop();
      }
    } finally {
      await relay.proc.stop();
    }
  } finally {
    await server.stop();
  }
}

// A bed for the `/files/*` routes: real files in a temp dir laid out as an
// agent's work dir, the routes on an in-process HTTP server on an ephemeral
// port, and a secret file outside the sandboxes that no answer may ever hold.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { routeFiles, SandboxFiles } from '../../src/agent/files.js';
import { HttpServer } from '../../src/runtime/http-server.js';
import { silentLogger } from '../../src/runtime/logger.js';

export const AGENT_ID = 'S0';
export const FRAMEWORK_ID = 'F0';
export const EXECUTOR_ID = 'E0';
export const RUN_ID = 'R0';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface FilesBed {
  /** The temp dir holding everything; removed when the test ends. */
  readonly base: string;
  /** `<work_dir>/slaves`. */
  readonly slavesDir: string;
  /** The real path of the executor's run directory (the sandbox). */
  readonly sandbox: string;
  /** The sandbox as a virtual path: `/frameworks/F0/executors/E0/runs/latest`. */
  readonly virtualSandbox: string;
  /** A file outside the sandboxes; its contents start with `marker`. */
  readonly secretPath: string;
  /** Unique text that only the secret file holds. */
  readonly marker: string;
  /** GET `route` with `query`, on a pooled connection; aborts after `timeoutMs`. */
  get(route: string, query: Readonly<Record<string, string>>, timeoutMs?: number): Promise<Reply>;
  /** Open descriptors of this process that point into `base`. */
  openDescriptorsInBase(): string[];
  /** Makes a FIFO `name` in the sandbox; returns its path. */
  makeFifo(name: string): string;
}

/** Lays out a work dir with one sandbox and serves `/files/*` from it until the test ends. */
export async function startFilesBed(t: TestContext): Promise<FilesBed> {
  const base = mkdtempSync(join(tmpdir(), 'agora-files-'));
  const slavesDir = join(base, 'work', 'slaves');
  const agentDir = join(slavesDir, AGENT_ID);
  const runs = join(agentDir, 'frameworks', FRAMEWORK_ID, 'executors', EXECUTOR_ID, 'runs');
  const sandbox = join(runs, RUN_ID);
  mkdirSync(sandbox, { recursive: true });
  // As the agent does: `runs/latest` is a relative symlink to the newest run.
  symlinkSync(RUN_ID, join(runs, 'latest'));
  const marker = `SECRET${randomBytes(8).toString('hex')}`;
  mkdirSync(join(base, 'outside'));
  const secretPath = join(base, 'outside', 'secret');
  writeFileSync(secretPath, `${marker}\n`.repeat(64));

  const server = new HttpServer({ logger: silentLogger() });
  routeFiles(server, new SandboxFiles({ slavesDir, agentDir: () => agentDir }));
  const { port } = await server.listen('127.0.0.1', 0);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const fifos: string[] = [];
  // One hook, in this order: a reader stuck on a FIFO would keep the server open,
  // and the FIFO must still exist to release it.
  t.after(async () => {
    for (const fifo of fifos) await releaseFifoReaders(fifo);
    agent.destroy();
    await server.close();
    rmSync(base, { recursive: true, force: true });
  });

  const get = (route: string, query: Readonly<Record<string, string>>, timeoutMs = 10_000) =>
    new Promise<Reply>((resolve, reject) => {
      const path = `${route}?${new URLSearchParams(query).toString()}`;
      const req = httpRequest(
        { host: '127.0.0.1', port, path, agent, signal: AbortSignal.timeout(timeoutMs) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });

  const openDescriptorsInBase = () =>
    readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        const target = readlinkSync(`/proc/self/fd/${fd}`);
        return target.startsWith(base) ? [target] : [];
      } catch {
        return []; // closed while we looked (readdir's own descriptor, for one)
      }
    });

  return {
    base,
    slavesDir,
    sandbox,
    virtualSandbox: `/frameworks/${FRAMEWORK_ID}/executors/${EXECUTOR_ID}/runs/latest`,
    secretPath,
    marker,
    get,
    openDescriptorsInBase,
    makeFifo(name) {
      const fifo = join(sandbox, name);
      const made = spawnSync('mkfifo', [fifo], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`mkfifo ${fifo}: ${made.stderr}`);
      fifos.push(fifo);
      return fifo;
    },
  };
}

/**
 * Releases every reader blocked opening `fifo` (what the FIFO bug does to pool
 * threads) by opening it for writing until no reader has been there for 100 ms,
 * so a failing test ends instead of hanging its process. Bounded.
 */
async function releaseFifoReaders(fifo: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let quietChecks = 0;
  while (quietChecks < 5 && performance.now() < deadline) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      quietChecks = 0; // a reader was there; queued opens may follow it
    } catch {
      quietChecks++; // ENXIO: nobody has it open for reading
    }
    await delay(20);
  }
}

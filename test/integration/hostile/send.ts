// Sending the hostile-input suite's requests, judging the answers, and what the suite
// observes of the master before and after.
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { Probe } from './probes.js';

/** How much of an answer's body is kept: enough to see what a refusal says. */
const MAX_KEPT_BYTES = 2048;

/** Requests in flight at once: enough to overlap I/O, few enough for a loaded 2-core machine. */
const CONCURRENCY = 6;

export interface Outcome {
  readonly probe: Probe;
  readonly status?: number;
  /** The start of the answer's body: a refusal names what was wrong. */
  readonly text?: string;
  readonly error?: string;
  readonly ms: number;
}

function send(
  agent: HttpAgent,
  base: URL,
  probe: Probe,
  extraHeaders: Readonly<Record<string, string>>,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const started = performance.now();
    const done = (outcome: Omit<Outcome, 'probe' | 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ probe, ...outcome, ms: performance.now() - started });
    };
    const body = probe.body;
    // The probe's own headers win: a probe that mangles a header sends its mangled one.
    const headers: Record<string, string> = { ...extraHeaders, ...probe.headers };
    if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
    else if (body !== undefined && 'declaredBytes' in body)
      headers['content-length'] = String(body.declaredBytes);
    const req = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: probe.method,
        path: probe.target,
        headers,
        agent,
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept >= MAX_KEPT_BYTES) return;
          chunks.push(chunk);
          kept += chunk.length;
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).subarray(0, MAX_KEPT_BYTES).toString('utf8');
          done({ status: res.statusCode ?? 0, text });
          // A declared body was never sent: this connection cannot carry another request.
          if (body !== undefined && !Buffer.isBuffer(body) && 'declaredBytes' in body)
            req.destroy();
        });
        res.on('error', (error) => done({ error: `response: ${error.message}` }));
      },
    );
    req.on('error', (error) =>
      done({ error: `${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}` }),
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else if ('declaredBytes' in body) req.flushHeaders();
    else {
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let left = Math.ceil(body.chunkedBytes / chunk.length);
      const write = (): void => {
        while (left > 0) {
          left--;
          if (!req.write(chunk)) {
            req.once('drain', write);
            return;
          }
        }
        req.end();
      };
      write();
    }
  });
}

export async function sendAll(
  probes: readonly Probe[],
  urls: Record<Probe['daemon'], URL>,
  /** Sent with every probe (credentials, when authentication is on). */
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<Outcome[]> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const outcomes: Outcome[] = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < probes.length; i = next++) {
        const probe = probes[i];
        if (probe !== undefined)
          outcomes.push(await send(agent, urls[probe.daemon], probe, extraHeaders));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return outcomes;
  } finally {
    agent.destroy();
  }
}

/**
 * Refusals that need not say why: a method or a path not served (the status says it all), and
 * what Node refuses before a handler runs (a request target or header it cannot parse).
 */
const SILENT_STATUSES: ReadonlySet<number> = new Set([404, 405, 408, 414, 431]);

export function failureOf(outcome: Outcome): string | undefined {
  const { probe, status, error, text } = outcome;
  const where = `${probe.daemon} ${probe.route} [${probe.label}]`;
  if (error !== undefined) return `${where}: ${error}`;
  if (status === undefined) return `${where}: no status`;
  const isOk = status >= 200 && status < 300;
  const isRejected = status >= 400 && status < 500;
  const said = (text ?? '').slice(0, 120);
  if (probe.expect === 'reject' && !isRejected)
    return `${where}: ${status}, expected a 4xx (${said})`;
  if (probe.expect === 'ok' && !isOk) return `${where}: ${status}, expected a 2xx (${said})`;
  if (probe.expect === 'redirect' && status !== 307) return `${where}: ${status}, expected 307`;
  if (probe.expect === 'ok-or-reject' && !isOk && !isRejected)
    return `${where}: ${status} (${said})`;
  if (isRejected && probe.method !== 'HEAD' && !SILENT_STATUSES.has(status) && said.trim() === '')
    return `${where}: ${status} without a word of why`;
  return undefined;
}

export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN) * 1024;
}

/** /master/state without what changes by itself (times, uptime). */
export function normalised(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalised);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !/time|uptime/.test(key))
      .map(([key, item]) => [key, normalised(item)]),
  );
}

export async function fetchText(
  url: URL | string,
  headers: Readonly<Record<string, string>> = {},
): Promise<string> {
  return (await fetch(url, { headers })).text();
}

/** User and system CPU time of a process so far, in seconds (clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// Finding the leading master from what a user passes as --master (WIRE §8):
// `host:port` or `http://host:port` (that master), `host:port,host:port` (asks
// each for /master/redirect), `zk://…/path` or `etcd://…/path` (reads the
// election), or `file://<path>` holding one of these.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { MasterInfo } from '../wire/index.js';
import type { Coordinator } from './coordinator.js';
import { EtcdCoordinator } from './etcd.js';
import { masterUrl } from './master-info.js';
import { isCoordinatorUrl, parseCoordinatorUrl } from './url.js';
import { ZooKeeperCoordinator } from './zookeeper.js';

/** How long one look-up waits for a leader before it gives up (the caller retries). */
const DEFAULT_DETECT_TIMEOUT_MS = 15_000;
const MAX_FILE_BYTES = 4096;

export interface DetectOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** True when `address` needs detection (a coordinator, a list or a file) rather than naming one master. */
export function needsDetection(address: string): boolean {
  return isCoordinatorUrl(address) || address.startsWith('file://') || address.includes(',');
}

/** Where the leading master is now. Rejects when none is found within the timeout. */
export async function detectMaster(address: string, options: DetectOptions = {}): Promise<URL> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DETECT_TIMEOUT_MS;
  if (address.startsWith('file://')) {
    const text = readFileSync(address.slice('file://'.length), 'utf8');
    if (text.length > MAX_FILE_BYTES)
      throw new Error(`${address}: longer than ${MAX_FILE_BYTES} bytes`);
    return detectMaster(text.trim(), options);
  }
  if (isCoordinatorUrl(address))
    return masterUrl(
      await electedLeader(makeCoordinator(address, timeoutMs), timeoutMs, options.signal),
    );
  if (address.includes(',')) return askEach(address.split(','), timeoutMs);
  return singleMaster(address);
}

/** A coordinator client for `address` (zk:// or etcd://), with `sessionTimeoutMs`. */
export function makeCoordinator(address: string, sessionTimeoutMs: number): Coordinator {
  const url = parseCoordinatorUrl(address, '--master');
  if (url.kind === 'zookeeper')
    return new ZooKeeperCoordinator({ url, sessionTimeoutMs, connectTimeoutMs: sessionTimeoutMs });
  return new EtcdCoordinator({ url, sessionTimeoutMs, connectTimeoutMs: sessionTimeoutMs });
}

async function electedLeader(
  coordinator: Coordinator,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<MasterInfo> {
  try {
    await coordinator.connect();
    return await new Promise<MasterInfo>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no leading master elected within ${timeoutMs} ms`)),
        timeoutMs,
      );
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      coordinator.watchLeader((leader) => {
        if (leader === undefined) return;
        clearTimeout(timer);
        resolve(leader);
      });
    });
  } finally {
    await coordinator.close();
  }
}

function singleMaster(address: string): URL {
  return new URL(/^[a-z]+:\/\//.test(address) ? address : `http://${address}`);
}

/** Asks each master where the leader is (/master/redirect answers 307 to it). */
async function askEach(addresses: readonly string[], timeoutMs: number): Promise<URL> {
  const errors: string[] = [];
  for (const address of addresses) {
    const base = singleMaster(address.trim());
    try {
      const location = await redirectOf(new URL('/master/redirect', base), timeoutMs);
      if (location !== undefined)
        return new URL(`http:${location.replace(/\/master\/redirect$/, '')}`);
      errors.push(`${base.host}: no leader known`);
    } catch (error) {
      errors.push(`${base.host}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no leading master found: ${errors.join('; ')}`);
}

function redirectOf(url: URL, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 307 ? res.headers.location : undefined);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

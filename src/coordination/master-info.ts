// The MasterInfo JSON a master publishes in its election node, byte for byte as
// Mesos writes it (WIRE §8: stout's rules, keys sorted), so a Mesos client that
// detects its master through ZooKeeper reads Agora's leader. Pure.
import type { MasterInfo } from '../wire/index.js';

/** JSON with every object's keys sorted, no whitespace. */
export function masterInfoJson(info: MasterInfo): string {
  return sortedJson(info);
}

function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The largest election node read back: a MasterInfo is well under 4 KiB. */
const MAX_MASTER_INFO_BYTES = 64 * 1024;

/**
 * Reads a MasterInfo from an election node. Undefined for anything that is not
 * one (a legacy binary `info_` node, a bare pid): the caller skips it.
 */
export function parseMasterInfo(data: Uint8Array | string): MasterInfo | undefined {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  if (text.length > MAX_MASTER_INFO_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const info = value as Partial<MasterInfo>;
  if (typeof info.id !== 'string' || typeof info.port !== 'number') return undefined;
  if (typeof info.hostname !== 'string' && typeof info.address?.ip !== 'string') return undefined;
  return info as MasterInfo;
}

/** Where to reach a master: its advertised IP if known, else its hostname. */
export function masterUrl(info: MasterInfo): URL {
  const host = info.address?.ip ?? info.hostname ?? '127.0.0.1';
  const port = info.address?.port ?? info.port;
  return new URL(`http://${host.includes(':') ? `[${host}]` : host}:${port}`);
}

/** `host:port` as Mesos puts it in a redirect's Location (`//host:port/…`). */
export function masterHostPort(info: MasterInfo): string {
  const host = info.hostname ?? info.address?.ip ?? '127.0.0.1';
  return `${host}:${info.address?.port ?? info.port}`;
}

import type { AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { type DomainInfo, type MasterInfo, MESOS_API_VERSION } from '../wire/index.js';

export interface Advertised {
  readonly hostname?: string;
  readonly advertiseIp?: string;
  readonly domain?: DomainInfo;
}

/**
 * The MasterInfo a master bound to `address` advertises. A standby master
 * publishes the very same one in its election node before it leads, so it is
 * computed in one place.
 */
export function buildMasterInfo(id: string, address: AddressInfo, options: Advertised): MasterInfo {
  const ip = options.advertiseIp ?? (isWildcard(address.address) ? '127.0.0.1' : address.address);
  const hostname = options.hostname ?? (isWildcard(address.address) ? osHostname() : ip);
  return {
    id,
    ip: ipv4ToUint32(ip),
    port: address.port,
    pid: `master@${ip}:${address.port}`,
    hostname,
    version: MESOS_API_VERSION,
    address: { hostname, ip, port: address.port },
    ...(options.domain !== undefined ? { domain: options.domain } : {}),
    capabilities: [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }],
  };
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** MasterInfo.ip: the IPv4 bytes in network order read as a little-endian uint32 (WIRE §3). */
export function ipv4ToUint32(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return 0;
  const [a = 0, b = 0, c = 0, d = 0] = parts;
  return ((d << 24) >>> 0) + (c << 16) + (b << 8) + a;
}

import { randomUUID } from 'node:crypto';

/**
 * Status update uuids are 16 raw RFC-4122 bytes, base64 on the wire; anything
 * else is answered with 400 "Not a valid UUID" (WIRE §1.9).
 */
export function newStatusUuid(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64');
}

export function isValidStatusUuid(base64: string): boolean {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return false;
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length !== 16) return false;
  const version = (bytes[6] ?? 0) >> 4;
  return version >= 1 && version <= 5;
}

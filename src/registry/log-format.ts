// Framing of the operation log: each record is
//   [uint32 BE payload length][uint32 BE CRC-32 of payload][payload]
// Pure: encodes records and scans a log's bytes; the embedded store does the I/O.
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';

export const RECORD_HEADER_BYTES = 8;

/**
 * Upper bound of one payload. An operation is a few kB (one AgentInfo); the bound
 * lets a scan reject a garbage length at once instead of treating it as a record
 * that runs past the end of the file.
 */
export const MAX_RECORD_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** Frames `payload` as one log record. */
export function encodeRecord(payload: Uint8Array): Buffer {
  assert.ok(
    payload.length > 0 && payload.length <= MAX_RECORD_PAYLOAD_BYTES,
    `record payload must be 1..${MAX_RECORD_PAYLOAD_BYTES} bytes, got ${payload.length}`,
  );
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  record.writeUInt32BE(payload.length, 0);
  record.writeUInt32BE(crc32(payload), 4);
  record.set(payload, RECORD_HEADER_BYTES);
  return record;
}

export interface LogRecord {
  /** Byte offset of the record's header in the log. */
  readonly offset: number;
  readonly payload: Buffer;
}

/** The first record that failed its checks. */
export interface BadRecord {
  readonly offset: number;
  readonly reason: string;
  /**
   * Offset of a valid record found after the bad one, if any. Undefined means
   * the bad bytes run to the end of the log: a torn final append. Defined means
   * corruption in the middle of the log.
   */
  readonly nextValidOffset: number | undefined;
}

export interface LogScan {
  /** The valid records before the first bad one, in order. */
  readonly records: readonly LogRecord[];
  /** Bytes of valid records: where a torn tail starts. */
  readonly validBytes: number;
  readonly bad: BadRecord | undefined;
}

type RecordAt =
  | { readonly kind: 'valid'; readonly payload: Buffer; readonly end: number }
  | { readonly kind: 'invalid'; readonly reason: string };

function recordAt(log: Buffer, offset: number): RecordAt {
  if (log.length - offset < RECORD_HEADER_BYTES) {
    return { kind: 'invalid', reason: `short header: ${log.length - offset} bytes` };
  }
  const length = log.readUInt32BE(offset);
  // Zero-filled tails (a file extended but its data never written) show up as length 0.
  if (length === 0 || length > MAX_RECORD_PAYLOAD_BYTES) {
    return { kind: 'invalid', reason: `impossible payload length ${length}` };
  }
  const start = offset + RECORD_HEADER_BYTES;
  const end = start + length;
  if (end > log.length) {
    return { kind: 'invalid', reason: `short payload: ${log.length - start} of ${length} bytes` };
  }
  const payload = log.subarray(start, end);
  if (crc32(payload) !== log.readUInt32BE(offset + 4)) {
    return { kind: 'invalid', reason: 'CRC-32 mismatch' };
  }
  return { kind: 'valid', payload, end };
}

/**
 * Reads every record of `log` up to the first bad one, then looks for any valid
 * record after it, byte by byte, to tell a torn tail from corruption. That search
 * runs only after a crash or damage, and is cheap: a record's length field must be
 * 1..MAX_RECORD_PAYLOAD_BYTES, and the bytes of our JSON payloads (ASCII and UTF-8
 * text) never form such a number, so the CRC is computed only at real candidates.
 */
export function scanLog(log: Buffer): LogScan {
  const records: LogRecord[] = [];
  let offset = 0;
  while (offset < log.length) {
    const record = recordAt(log, offset);
    if (record.kind === 'invalid') {
      return {
        records,
        validBytes: offset,
        bad: { offset, reason: record.reason, nextValidOffset: findValidRecord(log, offset + 1) },
      };
    }
    records.push({ offset, payload: record.payload });
    offset = record.end;
  }
  return { records, validBytes: offset, bad: undefined };
}

function findValidRecord(log: Buffer, from: number): number | undefined {
  for (let offset = from; offset + RECORD_HEADER_BYTES < log.length; offset += 1) {
    if (recordAt(log, offset).kind === 'valid') return offset;
  }
  return undefined;
}

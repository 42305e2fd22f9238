// RecordIO (WIRE §1.5): each record is `<decimal byte length>\n<payload>`, with no
// trailer. HTTP chunk boundaries mean nothing to it: a decoder must accept a
// record split across any number of chunks, and several records in one chunk.

/** Refuse records larger than this: a corrupt or hostile length must not exhaust memory. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;
// 20 decimal digits hold any uint64; a longer prefix without '\n' is not a length.
const MAX_LENGTH_DIGITS = 20;

export class RecordIOError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordIOError';
  }
}

/** Frames one payload. Callers write each record with its own `write()` (one HTTP chunk). */
export function encodeRecord(payload: string | Uint8Array): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  return Buffer.concat([Buffer.from(`${body.length}\n`, 'ascii'), body]);
}

/**
 * Incremental decoder: feed it chunks, take whole records out. Holds at most
 * one partial record. Throws RecordIOError on a malformed length prefix or an
 * oversized record; after that the stream is unusable (there is no way to
 * find the next record boundary).
 */
export class RecordIODecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private expected: number | undefined;

  constructor(private readonly maxRecordBytes = DEFAULT_MAX_RECORD_BYTES) {}

  /** Returns every record completed by this chunk, in order. */
  decode(chunk: Uint8Array): Buffer[] {
    const records: Buffer[] = [];
    let data = this.take(chunk);
    while (data.length > 0 || this.expected === 0) {
      if (this.expected === undefined) {
        const newline = data.indexOf(0x0a);
        if (newline === -1) {
          this.checkPrefix(data);
          this.keep(data);
          return records;
        }
        this.expected = this.parseLength(data.subarray(0, newline));
        data = data.subarray(newline + 1);
        continue;
      }
      if (data.length < this.expected) {
        this.keep(data);
        return records;
      }
      records.push(Buffer.from(data.subarray(0, this.expected)));
      data = data.subarray(this.expected);
      this.expected = undefined;
    }
    return records;
  }

  /** True when no partial record is buffered (a clean end of stream). */
  get isIdle(): boolean {
    return this.expected === undefined && this.pendingBytes === 0;
  }

  private take(chunk: Uint8Array): Buffer {
    const data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.pendingBytes === 0) return data;
    const joined = Buffer.concat([...this.pending, data]);
    this.pending = [];
    this.pendingBytes = 0;
    return joined;
  }

  private keep(data: Buffer): void {
    if (data.length === 0) return;
    this.pending.push(Buffer.from(data));
    this.pendingBytes += data.length;
  }

  private checkPrefix(partial: Buffer): void {
    if (partial.length > MAX_LENGTH_DIGITS || !/^\d*$/.test(partial.toString('latin1')))
      throw new RecordIOError(
        `malformed record length ${JSON.stringify(partial.subarray(0, 24).toString('latin1'))}`,
      );
  }

  private parseLength(prefix: Buffer): number {
    const text = prefix.toString('latin1');
    if (!/^\d{1,20}$/.test(text))
      throw new RecordIOError(`malformed record length ${JSON.stringify(text.slice(0, 24))}`);
    const length = Number(text);
    if (length > this.maxRecordBytes)
      throw new RecordIOError(
        `record of ${length} bytes exceeds the limit of ${this.maxRecordBytes}`,
      );
    return length;
  }
}

/** Decodes a byte stream into records; ends with an error if the stream stops mid-record. */
export async function* decodeRecords(
  chunks: AsyncIterable<Uint8Array>,
  maxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
): AsyncGenerator<Buffer> {
  const decoder = new RecordIODecoder(maxRecordBytes);
  for await (const chunk of chunks) yield* decoder.decode(chunk);
  if (!decoder.isIdle) throw new RecordIOError('stream ended in the middle of a record');
}

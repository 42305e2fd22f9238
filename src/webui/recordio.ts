// RecordIO (WIRE §1.5) as the browser reads the operator event stream:
// `<decimal byte length>\n<payload>` repeated, split anywhere by the network.
// Pure: bytes in, records out, so it is tested under node without a browser.

/** A record longer than this is not one the master sends; the stream is broken. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;
/** The length prefix: at most 20 digits (a uint64), then '\n'. */
const MAX_LENGTH_DIGITS = 20;

export class RecordIoDecoder {
  private buffer = new Uint8Array(0);
  private readonly text = new TextDecoder();

  /** Appends `chunk` and returns every record now complete, as text. Throws on a bad prefix. */
  push(chunk: Uint8Array): string[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer, 0);
    joined.set(chunk, this.buffer.length);
    const records: string[] = [];
    let start = 0;
    for (;;) {
      const newline = joined.indexOf(10, start);
      if (newline < 0) {
        if (joined.length - start > MAX_LENGTH_DIGITS)
          throw new Error('RecordIO: length prefix too long');
        break;
      }
      const digits = this.text.decode(joined.subarray(start, newline));
      if (!/^\d{1,20}$/.test(digits))
        throw new Error(`RecordIO: bad length ${JSON.stringify(digits)}`);
      const length = Number(digits);
      if (length > MAX_RECORD_BYTES) throw new Error(`RecordIO: record of ${length} bytes`);
      if (joined.length - (newline + 1) < length) break;
      records.push(this.text.decode(joined.subarray(newline + 1, newline + 1 + length)));
      start = newline + 1 + length;
    }
    this.buffer = joined.slice(start);
    return records;
  }
}

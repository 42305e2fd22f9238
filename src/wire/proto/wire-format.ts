// The protobuf binary format's primitives: varints, zigzag, fixed-width numbers,
// length-delimited bytes. Agora reads and writes them itself rather than through
// protobufjs's runtime, whose import alone costs `agora run --codec protobuf` tens
// of milliseconds of start-up (see codec.ts); the tests check these against
// protobufjs's own encoder and decoder.

/** Wire types (the low 3 bits of a tag). Groups (3, 4) are only ever skipped. */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

const TWO_32 = 2 ** 32;

/** Thrown on bytes that are not a protobuf message; `offset` is where reading failed. */
export class WireFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'WireFormatError';
  }
}

// Fatal: a string field that is not UTF-8 is refused, as a JSON body that is not
// UTF-8 is (runtime/http-io.ts), rather than stored with replacement characters.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reads primitives from `bytes` from `pos` on; every read checks the end. */
export class WireReader {
  pos = 0;
  private view: DataView | undefined;

  constructor(readonly bytes: Uint8Array) {}

  get isAtEnd(): boolean {
    return this.pos >= this.bytes.length;
  }

  /** A varint as an unsigned 32-bit number (higher bits dropped, as protobuf does). */
  uint32(): number {
    // The hot path (every tag and length): no object per varint, unlike varint().
    const start = this.pos;
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length)
        throw new WireFormatError('a varint cut short by the end of the message', start);
      const byte = this.bytes[this.pos++] ?? 0;
      // Past 32 bits, << drops what does not fit.
      if (i < 5) value |= (byte & 0x7f) << (7 * i);
      if (byte < 0x80) return value >>> 0;
    }
    throw new WireFormatError('a varint longer than ten bytes', start);
  }

  /** A varint as a signed 32-bit number (int32 and enums: negatives take ten bytes). */
  int32(): number {
    return this.uint32() | 0;
  }

  sint32(): number {
    const n = this.uint32();
    return (n >>> 1) ^ -(n & 1);
  }

  /** int64/uint64 as a number: exact up to 2^53, like JSON.parse of the same digits. */
  int64(isSigned: boolean): number {
    const { lo, hi } = this.varint();
    return join64(lo, hi, isSigned);
  }

  sint64(): number {
    const { lo, hi } = this.varint();
    // Zigzag over 64 bits: (n >>> 1) ^ -(n & 1).
    const isNegative = (lo & 1) === 1;
    const shiftedLo = ((lo >>> 1) | (hi << 31)) >>> 0;
    const shiftedHi = hi >>> 1;
    if (!isNegative) return shiftedHi * TWO_32 + shiftedLo;
    // -(n + 1), with the + 1 carried in 32-bit halves so the result is rounded once.
    const plusOneLo = (shiftedLo + 1) % TWO_32;
    const plusOneHi = shiftedHi + (plusOneLo === 0 ? 1 : 0);
    return -(plusOneHi * TWO_32 + plusOneLo);
  }

  bool(): boolean {
    const { lo, hi } = this.varint();
    return lo !== 0 || hi !== 0;
  }

  fixed32(): number {
    const value = this.dataView().getUint32(this.advance(4), true);
    return value;
  }

  sfixed32(): number {
    return this.dataView().getInt32(this.advance(4), true);
  }

  fixed64(isSigned: boolean): number {
    const at = this.advance(8);
    const view = this.dataView();
    return join64(view.getUint32(at, true), view.getUint32(at + 4, true), isSigned);
  }

  float(): number {
    return this.dataView().getFloat32(this.advance(4), true);
  }

  double(): number {
    return this.dataView().getFloat64(this.advance(8), true);
  }

  /** A length-delimited field's bytes (a view, not a copy). */
  bytesField(): Uint8Array {
    const length = this.uint32Length();
    const start = this.advance(length);
    return this.bytes.subarray(start, start + length);
  }

  string(): string {
    const start = this.pos;
    const bytes = this.bytesField();
    try {
      return utf8.decode(bytes);
    } catch {
      throw new WireFormatError('a string that is not valid UTF-8', start);
    }
  }

  /** Skips one field's value of `wireType`; groups are skipped whole, `depthLeft` deep at most. */
  skip(wireType: number, depthLeft: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.bytesField();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      case WIRE_START_GROUP: {
        if (depthLeft <= 0) throw new WireFormatError('groups nested too deeply', this.pos);
        for (;;) {
          if (this.isAtEnd) throw new WireFormatError('a group without its end', this.pos);
          const tag = this.uint32();
          if ((tag & 7) === WIRE_END_GROUP) return;
          this.skip(tag & 7, depthLeft - 1);
        }
      }
      default:
        throw new WireFormatError(`invalid wire type ${wireType}`, this.pos);
    }
  }

  /** The low and high 32 bits of a varint of at most ten bytes. */
  private varint(): { lo: number; hi: number } {
    const start = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length)
        throw new WireFormatError('a varint cut short by the end of the message', start);
      const byte = this.bytes[this.pos++] ?? 0;
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (byte < 0x80) return { lo: lo >>> 0, hi: hi >>> 0 };
    }
    throw new WireFormatError('a varint longer than ten bytes', start);
  }

  private uint32Length(): number {
    const start = this.pos;
    const { lo, hi } = this.varint();
    if (hi !== 0 || lo > this.bytes.length - this.pos)
      throw new WireFormatError('a length past the end of the message', start);
    return lo;
  }

  /** Moves past `count` bytes; returns where they start. */
  private advance(count: number): number {
    const start = this.pos;
    if (count > this.bytes.length - start)
      throw new WireFormatError('a field cut short by the end of the message', start);
    this.pos = start + count;
    return start;
  }

  private dataView(): DataView {
    this.view ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    return this.view;
  }
}

function join64(lo: number, hi: number, isSigned: boolean): number {
  if (isSigned && hi >= 0x80000000) {
    // Two's complement: -(~value + 1) over 64 bits.
    const negLo = (~lo + 1) >>> 0;
    const negHi = (~hi + (negLo === 0 ? 1 : 0)) >>> 0;
    return -(negHi * TWO_32 + negLo);
  }
  return hi * TWO_32 + lo;
}

/**
 * Appends primitives to one growing buffer. A nested message is written in place
 * after a one-byte length (beginNested/endNested); only a message of 128 bytes or
 * more is moved, by the one to four bytes its longer length needs.
 */
export class WireWriter {
  // A Buffer rather than a plain Uint8Array for its native UTF-8 write (string()).
  private buffer: Buffer;
  private view: DataView;
  private length = 0;

  /** `capacityBytes`: room to start with, for a writer that will hold about that much. */
  constructor(capacityBytes = 256) {
    this.buffer = Buffer.allocUnsafe(capacityBytes);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  }

  tag(fieldNumber: number, wireType: number): void {
    this.uint32(((fieldNumber << 3) | wireType) >>> 0);
  }

  uint32(value: number): void {
    this.reserve(5);
    let n = value >>> 0;
    while (n > 0x7f) {
      this.buffer[this.length++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buffer[this.length++] = n;
  }

  /** int32 and enums: a negative value is sign-extended to ten bytes, as protobuf requires. */
  int32(value: number): void {
    if (value >= 0) this.uint32(value);
    else this.varint64(BigInt.asUintN(64, BigInt(value)));
  }

  sint32(value: number): void {
    this.uint32(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** int64/uint64 from an integer-valued number or bigint. */
  int64(value: number | bigint): void {
    if (typeof value === 'number' && value >= 0 && value <= 0xffffffff) this.uint32(value);
    else this.varint64(BigInt.asUintN(64, BigInt(value)));
  }

  sint64(value: number | bigint): void {
    const n = BigInt.asIntN(64, BigInt(value));
    this.varint64(BigInt.asUintN(64, (n << 1n) ^ (n >> 63n)));
  }

  bool(value: boolean): void {
    this.reserve(1);
    this.buffer[this.length++] = value ? 1 : 0;
  }

  fixed32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value >>> 0, true);
    this.length += 4;
  }

  sfixed32(value: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, value | 0, true);
    this.length += 4;
  }

  fixed64(value: number | bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt.asUintN(64, BigInt(value)), true);
    this.length += 8;
  }

  float(value: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, value, true);
    this.length += 4;
  }

  double(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
  }

  /** Length-prefixed bytes (a bytes field, or a nested message's finish()). */
  bytes(value: Uint8Array): void {
    this.uint32(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  string(value: string): void {
    const size = Buffer.byteLength(value, 'utf8');
    this.uint32(size);
    this.reserve(size);
    this.length += this.buffer.write(value, this.length, size, 'utf8');
  }

  /** Starts a length-delimited value written in place; returns the mark endNested needs. */
  beginNested(): number {
    this.reserve(1);
    return this.length++;
  }

  /** Ends the value begun at `mark`, writing its length before it. */
  endNested(mark: number): void {
    const contentStart = mark + 1;
    const size = this.length - contentStart;
    if (size < 0x80) {
      this.buffer[mark] = size;
      return;
    }
    let prefixBytes = 1;
    for (let n = size >>> 7; n > 0; n >>>= 7) prefixBytes += 1;
    this.reserve(prefixBytes - 1);
    this.buffer.copyWithin(mark + prefixBytes, contentStart, this.length);
    this.length += prefixBytes - 1;
    let n = size;
    let at = mark;
    while (n > 0x7f) {
      this.buffer[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buffer[at] = n;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.length;
  }

  /** The bytes written so far (a view of this writer's buffer). */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  private varint64(value: bigint): void {
    this.reserve(10);
    let n = value;
    while (n > 0x7fn) {
      this.buffer[this.length++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buffer[this.length++] = Number(n);
  }

  private reserve(count: number): void {
    if (this.length + count <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + count) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }
}

// One value of each protobuf scalar type, read into and written from the shape
// the wire's JSON gives it (WIRE §1.2): 64-bit integers as numbers (bigints and
// numeric strings written exactly), bytes as base64, numbers and booleans also
// as the strings stout accepts.
import { ProtoEncodeError } from './errors.js';
import {
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  type WireReader,
  type WireWriter,
} from './wire-format.js';

export type Scalar =
  | 'double'
  | 'float'
  | 'int32'
  | 'uint32'
  | 'sint32'
  | 'fixed32'
  | 'sfixed32'
  | 'int64'
  | 'uint64'
  | 'sint64'
  | 'fixed64'
  | 'sfixed64'
  | 'bool'
  | 'string'
  | 'bytes';

export const SCALAR_WIRE_TYPE: Readonly<Record<Scalar, number>> = {
  double: WIRE_FIXED64,
  float: WIRE_FIXED32,
  int32: WIRE_VARINT,
  uint32: WIRE_VARINT,
  sint32: WIRE_VARINT,
  fixed32: WIRE_FIXED32,
  sfixed32: WIRE_FIXED32,
  int64: WIRE_VARINT,
  uint64: WIRE_VARINT,
  sint64: WIRE_VARINT,
  fixed64: WIRE_FIXED64,
  sfixed64: WIRE_FIXED64,
  bool: WIRE_VARINT,
  string: WIRE_LENGTH_DELIMITED,
  bytes: WIRE_LENGTH_DELIMITED,
};

export function isScalar(type: string): type is Scalar {
  return Object.hasOwn(SCALAR_WIRE_TYPE, type);
}

/** A value for an error message: strings quoted, anything cut to a few dozen characters. */
export function describe(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : String(value);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

export function readScalar(scalar: Scalar, reader: WireReader): unknown {
  switch (scalar) {
    case 'double':
      return reader.double();
    case 'float':
      return reader.float();
    case 'int32':
      return reader.int32();
    case 'uint32':
      return reader.uint32();
    case 'sint32':
      return reader.sint32();
    case 'fixed32':
      return reader.fixed32();
    case 'sfixed32':
      return reader.sfixed32();
    case 'int64':
      return reader.int64(true);
    case 'uint64':
      return reader.int64(false);
    case 'sint64':
      return reader.sint64();
    case 'fixed64':
      return reader.fixed64(false);
    case 'sfixed64':
      return reader.fixed64(true);
    case 'bool':
      return reader.bool();
    case 'string':
      return reader.string();
    case 'bytes': {
      const bytes = reader.bytesField();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    }
  }
}

// Input numbers may be JSON numbers or numeric strings, doubles also "Infinity"
// (WIRE §1.2); the same leniency here keeps both encodings of one object alike.
const NUMBER_STRING = /^\s*[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|Infinity)\s*$/;

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.length <= 64 && NUMBER_STRING.test(value))
    return Number(value);
  throw new ProtoEncodeError('', `expected a number, got ${describe(value)}`);
}

function toInteger(value: unknown, min: number, max: number): number {
  const n = toNumber(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ProtoEncodeError(
      '',
      `expected an integer from ${min} to ${max}, got ${describe(value)}`,
    );
  return n;
}

/** An int64/uint64 value: a bigint exactly, else an integer-valued number or numeric string. */
function toInteger64(value: unknown, isSigned: boolean): number | bigint {
  if (typeof value === 'bigint') {
    const inRange = isSigned
      ? value === BigInt.asIntN(64, value)
      : value === BigInt.asUintN(64, value);
    if (!inRange) throw new ProtoEncodeError('', `${value} does not fit 64 bits`);
    return value;
  }
  if (typeof value === 'string' && /^\s*-?\d{1,20}\s*$/.test(value))
    return toInteger64(BigInt(value.trim()), isSigned);
  const n = toNumber(value);
  if (!Number.isInteger(n) || (!isSigned && n < 0))
    throw new ProtoEncodeError('', `expected an integer, got ${describe(value)}`);
  return n;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const UINT32_MAX = 2 ** 32 - 1;

export function writeScalar(scalar: Scalar, value: unknown, writer: WireWriter): void {
  switch (scalar) {
    case 'double':
      writer.double(toNumber(value));
      return;
    case 'float':
      writer.float(toNumber(value));
      return;
    case 'int32':
      writer.int32(toInteger(value, INT32_MIN, INT32_MAX));
      return;
    case 'uint32':
      writer.uint32(toInteger(value, 0, UINT32_MAX));
      return;
    case 'sint32':
      writer.sint32(toInteger(value, INT32_MIN, INT32_MAX));
      return;
    case 'fixed32':
      writer.fixed32(toInteger(value, 0, UINT32_MAX));
      return;
    case 'sfixed32':
      writer.sfixed32(toInteger(value, INT32_MIN, INT32_MAX));
      return;
    case 'int64':
      writer.int64(toInteger64(value, true));
      return;
    case 'uint64':
      writer.int64(toInteger64(value, false));
      return;
    case 'sint64':
      writer.sint64(toInteger64(value, true));
      return;
    case 'fixed64':
      writer.fixed64(toInteger64(value, false));
      return;
    case 'sfixed64':
      writer.fixed64(toInteger64(value, true));
      return;
    case 'bool':
      if (value === true || value === 'true') writer.bool(true);
      else if (value === false || value === 'false') writer.bool(false);
      else throw new ProtoEncodeError('', `expected a boolean, got ${describe(value)}`);
      return;
    case 'string':
      if (typeof value !== 'string')
        throw new ProtoEncodeError('', `expected a string, got ${describe(value)}`);
      writer.string(value);
      return;
    case 'bytes':
      if (value instanceof Uint8Array) writer.bytes(value);
      else if (typeof value === 'string') writer.bytes(Buffer.from(value, 'base64'));
      else throw new ProtoEncodeError('', `expected base64 text, got ${describe(value)}`);
      return;
  }
}

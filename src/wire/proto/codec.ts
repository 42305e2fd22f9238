// Protobuf ⇄ the wire-JSON shape (WIRE §1.2): a protobuf body decodes to the very
// object a JSON body parses to, so one set of zod schemas validates both, and an
// outgoing event or reply, built once as that object, encodes to either. Driven
// by the descriptor compiled from this folder's .proto files:
// - enums are names (an unknown number is dropped, as stout drops an unknown name);
// - bytes are standard base64 with padding;
// - int64/uint64 are numbers, exact to 2^53 as JSON.parse is; bigints encode exactly;
// - maps are objects keyed by the map key; `{value}` ids are plain messages;
// - repeated fields are arrays, left out when empty (as stout writes them);
// - unknown fields are skipped, however nested; a field whose wire type does not
//   match its declaration is skipped too, as protobuf's own parser does;
// - `required` is checked both ways (proto2): a decoded message lacking one is
//   refused, and so is encoding one (that would be Agora's bug, not the client's).
// Long file: decoding, encoding and encoding in pieces (large replies) walk the same
// per-type plans, which are private to the class.
import { LazyList } from '../lazy-list.js';
import { MAX_PROTOBUF_DEPTH } from '../limits.js';
import type { FieldDescriptor, ProtoDescriptor } from './descriptor.js';
import { ProtoDecodeError, ProtoEncodeError } from './errors.js';
import {
  describe,
  isScalar,
  readScalar,
  SCALAR_WIRE_TYPE,
  type Scalar,
  writeScalar,
} from './scalars.js';
import {
  WIRE_END_GROUP,
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  WireFormatError,
  WireReader,
  WireWriter,
} from './wire-format.js';

type Json = Record<string, unknown>;

/** What kind of value a field holds, decided once per field. */
type Kind =
  | { readonly kind: 'message'; readonly typeName: string }
  | {
      readonly kind: 'enum';
      readonly numbers: ReadonlyMap<string, number>;
      readonly names: ReadonlyMap<number, string>;
      readonly defaultName: string;
    }
  | { readonly kind: 'scalar'; readonly scalar: Scalar };

type ScalarKind = Extract<Kind, { kind: 'scalar' }>;

interface Field {
  readonly name: string;
  readonly id: number;
  readonly rule: FieldDescriptor['rule'];
  readonly value: Kind;
  /** The wire type a single value of this field is written with. */
  readonly wireType: number;
  /** Map fields: the key's scalar type. */
  readonly keyKind: ScalarKind | undefined;
  readonly isPacked: boolean;
}

interface Plan {
  readonly typeName: string;
  readonly fields: readonly Field[];
  readonly byId: ReadonlyMap<number, Field>;
  readonly required: readonly Field[];
}

function isPackable(kind: Kind): boolean {
  return (
    kind.kind === 'enum' ||
    (kind.kind === 'scalar' && kind.scalar !== 'string' && kind.scalar !== 'bytes')
  );
}

/** Encodes and decodes the messages of one descriptor; plans are built per type on first use. */
export class ProtoCodec {
  private readonly plans = new Map<string, Plan>();

  constructor(private readonly descriptor: ProtoDescriptor) {}

  /** True when `typeName` (`mesos.v1.scheduler.Call`) is a message of this descriptor. */
  has(typeName: string): boolean {
    return Object.hasOwn(this.descriptor.messages, typeName);
  }

  /**
   * The wire-JSON shaped `value` as a `typeName` message. Throws ProtoEncodeError naming
   * the field when a required field is missing or a value does not fit its field.
   */
  encode(typeName: string, value: unknown): Uint8Array {
    const writer = new WireWriter();
    this.encodeMessage(this.plan(typeName), value, writer, 0);
    return writer.finish();
  }

  /**
   * `value` as a `typeName` message in pieces of about `pieceBytes`, for replies too large
   * to build whole (GET_STATE of 100,000 tasks): each piece is itself a `typeName` message,
   * and their concatenation decodes to `value`, because a protobuf parser merges a message
   * field seen twice and appends to a repeated one (as ours does, and protobuf's own). A
   * repeated message field whose value is a LazyList is rendered and encoded one item at a
   * time; a message field holding one (at any depth) is split the same way. The first piece
   * holds every other field, so required fields are checked as encode() checks them.
   */
  *encodePieces(typeName: string, value: unknown, pieceBytes = 64 * 1024): Generator<Uint8Array> {
    yield* this.pieces(this.plan(typeName), value, pieceBytes, 0);
  }

  private *pieces(
    plan: Plan,
    value: unknown,
    pieceBytes: number,
    depth: number,
  ): Generator<Uint8Array> {
    if (!isObject(value)) throw new ProtoEncodeError('', `expected an object for ${plan.typeName}`);
    const rest: Json = {};
    const split: { field: Field; item: unknown }[] = [];
    for (const field of plan.fields) {
      const item = value[field.name];
      if (field.value.kind === 'message' && field.rule !== 'map' && holdsLazyList(item))
        split.push({ field, item });
      else rest[field.name] = item;
    }
    // Always written, empty or not: it makes the message (and each field it is in) present.
    yield Buffer.from(this.encode(plan.typeName, rest));
    for (const { field, item } of split) {
      const kind = field.value as Extract<Kind, { kind: 'message' }>;
      const itemPlan = this.plan(kind.typeName);
      try {
        if (item instanceof LazyList) {
          if (field.rule !== 'repeated') throw new ProtoEncodeError('', 'a list in a single field');
          // Each piece's writer starts at about a piece's size: grown from 256 bytes by
          // doubling, a 64 KiB piece cost nine allocations and copies (a third of a kept
          // GET_STATE's CPU at 20,000 tasks).
          const pieceWriter = () => new WireWriter(pieceBytes + 1024);
          let writer = pieceWriter();
          const { render, kept } = item;
          for (const element of item.items) {
            writer.tag(field.id, WIRE_LENGTH_DELIMITED);
            if (kept !== undefined)
              writer.bytes(
                kept.proto(element, () => {
                  const own = new WireWriter();
                  this.encodeMessage(itemPlan, render(element), own, depth + 1);
                  // A copy of its own (finish() is a view of the writer's larger buffer),
                  // from Buffer's pool: small kept pieces share slabs rather than each
                  // holding a backing store.
                  return Buffer.from(own.finish());
                }),
              );
            else {
              const mark = writer.beginNested();
              this.encodeMessage(itemPlan, render(element), writer, depth + 1);
              writer.endNested(mark);
            }
            if (writer.size >= pieceBytes) {
              yield writer.finish();
              writer = pieceWriter();
            }
          }
          if (writer.size > 0) yield writer.finish();
        } else
          for (const piece of this.pieces(itemPlan, item, pieceBytes, depth + 1)) {
            const writer = new WireWriter();
            writer.tag(field.id, WIRE_LENGTH_DELIMITED);
            writer.bytes(piece);
            yield writer.finish();
          }
      } catch (error) {
        throw error instanceof ProtoEncodeError ? error.within(field.name) : error;
      }
    }
  }

  /**
   * A `typeName` message as the object its JSON encoding parses to. Throws
   * ProtoDecodeError, naming the field and the byte offset, on malformed bytes, a
   * missing required field, or nesting deeper than `maxDepth` messages.
   */
  decode(typeName: string, bytes: Uint8Array, maxDepth = MAX_PROTOBUF_DEPTH): Json {
    return this.decodeMessage(
      this.plan(typeName),
      new WireReader(bytes),
      bytes.length,
      '',
      maxDepth,
      {},
    );
  }

  // ----------------------------------------------------------------- decode

  private decodeMessage(
    plan: Plan,
    reader: WireReader,
    end: number,
    path: string,
    depthLeft: number,
    into: Json,
  ): Json {
    if (depthLeft <= 0) throw new ProtoDecodeError(path, 'messages nested too deeply', reader.pos);
    let at = path;
    try {
      while (reader.pos < end) {
        at = path;
        const tagAt = reader.pos;
        const tag = reader.uint32();
        const id = tag >>> 3;
        const wireType = tag & 7;
        if (id === 0) throw new WireFormatError('field number 0', tagAt);
        if (wireType === WIRE_END_GROUP)
          throw new WireFormatError('an end of group that was never started', tagAt);
        const field = plan.byId.get(id);
        const isPackedRun =
          field !== undefined &&
          field.rule === 'repeated' &&
          wireType === WIRE_LENGTH_DELIMITED &&
          isPackable(field.value);
        if (field === undefined || (wireType !== field.wireType && !isPackedRun))
          reader.skip(wireType, depthLeft);
        else {
          at = path === '' ? field.name : `${path}.${field.name}`;
          this.decodeField(field, reader, into, at, depthLeft, isPackedRun);
        }
        if (reader.pos > end)
          throw new WireFormatError('a field runs past the end of its message', tagAt);
      }
    } catch (error) {
      if (error instanceof WireFormatError)
        throw new ProtoDecodeError(at, error.message, error.offset);
      throw error;
    }
    for (const field of plan.required)
      if (into[field.name] === undefined)
        throw new ProtoDecodeError(
          path === '' ? field.name : `${path}.${field.name}`,
          `missing required field (${plan.typeName}.${field.name})`,
          reader.pos,
        );
    return into;
  }

  private decodeField(
    field: Field,
    reader: WireReader,
    out: Json,
    path: string,
    depthLeft: number,
    isPackedRun: boolean,
  ): void {
    switch (field.rule) {
      case 'repeated': {
        const list = (out[field.name] as unknown[] | undefined) ?? [];
        if (isPackedRun) {
          const length = reader.uint32();
          const end = reader.pos + length;
          if (end > reader.bytes.length)
            throw new WireFormatError('a length past the end of the message', reader.pos);
          while (reader.pos < end) {
            const value = this.decodeValue(field.value, reader, '', depthLeft);
            if (value !== undefined) list.push(value);
          }
          if (reader.pos !== end) throw new WireFormatError('a packed field cut short', reader.pos);
        } else {
          const value = this.decodeValue(field.value, reader, `${path}[${list.length}]`, depthLeft);
          if (value !== undefined) list.push(value);
        }
        if (list.length > 0) out[field.name] = list;
        return;
      }
      case 'map': {
        const map = (out[field.name] as Json | undefined) ?? {};
        const [key, value] = this.decodeMapEntry(field, reader, path, depthLeft);
        // Keys come from the client: define, never assign, so '__proto__' is only a key.
        Object.defineProperty(map, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        out[field.name] = map;
        return;
      }
      case 'optional':
      case 'required': {
        // A message seen twice merges, as protobuf parsers do; a scalar's last value wins.
        const previous = out[field.name];
        const value = this.decodeValue(
          field.value,
          reader,
          path,
          depthLeft,
          isObject(previous) ? previous : undefined,
        );
        if (value !== undefined) out[field.name] = value;
        return;
      }
    }
  }

  /**
   * One map entry {key = 1, value = 2}. The value is read once the key is known, so an
   * error in it is named by its key (`limits.mem.value`). A missing key or value stands
   * for its default; a default message must still have its required fields.
   */
  private decodeMapEntry(
    field: Field,
    reader: WireReader,
    path: string,
    depthLeft: number,
  ): [string, unknown] {
    const length = reader.uint32();
    const end = reader.pos + length;
    if (end > reader.bytes.length)
      throw new WireFormatError('a length past the end of the message', reader.pos);
    const keyKind = field.keyKind ?? STRING_KIND;
    let key: unknown;
    let valueAt: number | undefined;
    while (reader.pos < end) {
      const tag = reader.uint32();
      const id = tag >>> 3;
      const wireType = tag & 7;
      if (id === 1 && wireType === SCALAR_WIRE_TYPE[keyKind.scalar])
        key = this.decodeValue(keyKind, reader, path, depthLeft);
      else {
        if (id === 2 && wireType === field.wireType) valueAt = reader.pos;
        reader.skip(wireType, depthLeft);
      }
    }
    if (reader.pos !== end) throw new WireFormatError('a map entry cut short', reader.pos);
    const keyText = String(key ?? defaultOf(keyKind));
    const valuePath = `${path}.${keyText.length > 64 ? `${keyText.slice(0, 64)}…` : keyText}`;
    let value: unknown;
    if (valueAt !== undefined) {
      reader.pos = valueAt;
      value = this.decodeValue(field.value, reader, valuePath, depthLeft);
      reader.pos = end;
    } else if (field.value.kind === 'message')
      value = this.decodeMessage(
        this.plan(field.value.typeName),
        reader,
        reader.pos,
        valuePath,
        depthLeft - 1,
        {},
      );
    return [keyText, value ?? defaultOf(field.value)];
  }

  /** One value; undefined for an enum number this descriptor does not know. */
  private decodeValue(
    kind: Kind,
    reader: WireReader,
    path: string,
    depthLeft: number,
    mergeInto?: Json,
  ): unknown {
    switch (kind.kind) {
      case 'message': {
        const length = reader.uint32();
        const end = reader.pos + length;
        if (end > reader.bytes.length)
          throw new WireFormatError('a length past the end of the message', reader.pos);
        const message = this.decodeMessage(
          this.plan(kind.typeName),
          reader,
          end,
          path,
          depthLeft - 1,
          mergeInto ?? {},
        );
        if (reader.pos !== end) throw new WireFormatError('a message cut short', reader.pos);
        return message;
      }
      case 'enum':
        return kind.names.get(reader.int32());
      case 'scalar':
        return readScalar(kind.scalar, reader);
    }
  }

  // ----------------------------------------------------------------- encode
  // No path is built while encoding: an error names its field, and each level it
  // passes through on the way out puts its own name in front (ProtoEncodeError.within).

  private encodeMessage(plan: Plan, value: unknown, writer: WireWriter, depth: number): void {
    if (!isObject(value)) throw new ProtoEncodeError('', `expected an object for ${plan.typeName}`);
    if (depth > MAX_PROTOBUF_DEPTH)
      throw new ProtoEncodeError('', `nested deeper than ${MAX_PROTOBUF_DEPTH} messages`);
    for (const field of plan.fields) {
      const item = value[field.name];
      if (item === undefined || item === null) {
        if (field.rule === 'required')
          throw new ProtoEncodeError(
            field.name,
            `missing required field (${plan.typeName}.${field.name})`,
          );
        continue;
      }
      try {
        this.encodeField(field, item, writer, depth);
      } catch (error) {
        throw error instanceof ProtoEncodeError ? error.within(field.name) : error;
      }
    }
  }

  private encodeField(field: Field, item: unknown, writer: WireWriter, depth: number): void {
    switch (field.rule) {
      case 'repeated': {
        if (!Array.isArray(item)) throw new ProtoEncodeError('', 'expected an array');
        let i = 0;
        try {
          if (field.isPacked && item.length > 0) {
            writer.tag(field.id, WIRE_LENGTH_DELIMITED);
            const mark = writer.beginNested();
            for (; i < item.length; i++) this.encodeBare(field.value, item[i], writer, depth);
            writer.endNested(mark);
          } else
            for (; i < item.length; i++)
              this.encodeOne(field.id, field.wireType, field.value, false, item[i], writer, depth);
        } catch (error) {
          throw error instanceof ProtoEncodeError ? error.within(`[${i}]`) : error;
        }
        return;
      }
      case 'map': {
        if (!isObject(item)) throw new ProtoEncodeError('', 'expected an object (a map)');
        const keyKind = field.keyKind ?? STRING_KIND;
        for (const key of Object.keys(item)) {
          const element = item[key];
          if (element === undefined || element === null) continue;
          try {
            writer.tag(field.id, WIRE_LENGTH_DELIMITED);
            const mark = writer.beginNested();
            writer.tag(1, SCALAR_WIRE_TYPE[keyKind.scalar]);
            writeScalar(keyKind.scalar, key, writer);
            this.encodeOne(2, field.wireType, field.value, false, element, writer, depth);
            writer.endNested(mark);
          } catch (error) {
            throw error instanceof ProtoEncodeError ? error.within(key) : error;
          }
        }
        return;
      }
      case 'optional':
      case 'required':
        this.encodeOne(
          field.id,
          field.wireType,
          field.value,
          field.rule === 'required',
          item,
          writer,
          depth,
        );
        return;
    }
  }

  /** Tag and value; an unknown enum name leaves the field out (required: an error). */
  private encodeOne(
    id: number,
    wireType: number,
    kind: Kind,
    isRequired: boolean,
    value: unknown,
    writer: WireWriter,
    depth: number,
  ): void {
    if (kind.kind === 'enum' && enumNumber(kind, value) === undefined) {
      if (isRequired) throw new ProtoEncodeError('', `unknown enum value ${describe(value)}`);
      return;
    }
    writer.tag(id, wireType);
    this.encodeBare(kind, value, writer, depth);
  }

  private encodeBare(kind: Kind, value: unknown, writer: WireWriter, depth: number): void {
    switch (kind.kind) {
      case 'message': {
        const mark = writer.beginNested();
        this.encodeMessage(this.plan(kind.typeName), value, writer, depth + 1);
        writer.endNested(mark);
        return;
      }
      case 'enum':
        writer.int32(enumNumber(kind, value) ?? 0);
        return;
      case 'scalar':
        writeScalar(kind.scalar, value, writer);
        return;
    }
  }

  // ------------------------------------------------------------------ plans

  private plan(typeName: string): Plan {
    const cached = this.plans.get(typeName);
    if (cached !== undefined) return cached;
    const message = this.descriptor.messages[typeName];
    if (message === undefined) throw new Error(`no message type ${typeName} in the descriptor`);
    const fields = message.fields.map((field): Field => {
      const value = this.kindOf(field.type);
      const key = field.keyType;
      if (key !== undefined && !isScalar(key))
        throw new Error(`map key of ${typeName}.${field.name} is not a scalar`);
      return {
        name: field.name,
        id: field.id,
        rule: field.rule,
        value,
        wireType:
          value.kind === 'message'
            ? WIRE_LENGTH_DELIMITED
            : value.kind === 'enum'
              ? WIRE_VARINT
              : SCALAR_WIRE_TYPE[value.scalar],
        keyKind: key === undefined ? undefined : { kind: 'scalar', scalar: key },
        isPacked: field.isPacked === true,
      };
    });
    const plan: Plan = {
      typeName,
      fields,
      byId: new Map(fields.map((f) => [f.id, f])),
      required: fields.filter((f) => f.rule === 'required'),
    };
    this.plans.set(typeName, plan);
    return plan;
  }

  private kindOf(type: string): Kind {
    if (isScalar(type)) return { kind: 'scalar', scalar: type };
    if (Object.hasOwn(this.descriptor.messages, type)) return { kind: 'message', typeName: type };
    const values = this.descriptor.enums[type];
    if (values === undefined) throw new Error(`unknown type ${type} in the descriptor`);
    const entries = Object.entries(values);
    return {
      kind: 'enum',
      numbers: new Map(entries),
      // Two names for one number (allow_alias): the first declared is the one written.
      names: new Map([...entries].reverse().map(([name, n]) => [n, name])),
      defaultName: entries[0]?.[0] ?? '',
    };
  }
}

const STRING_KIND: ScalarKind = { kind: 'scalar', scalar: 'string' };

/** A LazyList, or a plain object with one somewhere in it (arrays are not looked into). */
function holdsLazyList(value: unknown): boolean {
  if (value instanceof LazyList) return true;
  if (!isObject(value)) return false;
  for (const key of Object.keys(value)) if (holdsLazyList(value[key])) return true;
  return false;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function enumNumber(kind: Extract<Kind, { kind: 'enum' }>, value: unknown): number | undefined {
  if (typeof value === 'string') return kind.numbers.get(value);
  // A number is taken if the enum declares it, as stout takes neither unknown names nor numbers.
  if (typeof value === 'number' && kind.names.has(value)) return value;
  return undefined;
}

/** The value a map entry stands for when it leaves out its key or value (proto2 defaults). */
function defaultOf(kind: Kind): unknown {
  switch (kind.kind) {
    case 'message':
      return {};
    case 'enum':
      return kind.defaultName;
    case 'scalar':
      return kind.scalar === 'bool'
        ? false
        : kind.scalar === 'string' || kind.scalar === 'bytes'
          ? ''
          : 0;
  }
}

// A strict protobuf client, independent of Agora's codec: protobufjs's own
// reflection and generated decoders over the same .proto files. Widely used Mesos
// client libraries decode like this and refuse a message that lacks a proto2
// `required` field; tests decode what Agora sends through here.
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { PROTO_FILES } from '../../src/wire/proto/descriptor.js';

const PROTO_DIR = new URL('../../src/wire/proto/', import.meta.url);

let root: protobuf.Root | undefined;

/** protobufjs's view of Agora's .proto files. */
export function strictRoot(): protobuf.Root {
  if (root !== undefined) return root;
  const parsed = new protobuf.Root();
  for (const file of PROTO_FILES)
    protobuf.parse(readFileSync(new URL(file, PROTO_DIR), 'utf8'), parsed, { keepCase: true });
  parsed.resolveAll();
  root = parsed;
  return parsed;
}

/**
 * Every required field missing anywhere in `message` (a decoded protobufjs message),
 * as dotted paths. protobufjs's decoder already throws on the first one; this walk
 * checks again, field by field, so a test's failure names all of them.
 */
export function missingRequired(
  type: protobuf.Type,
  message: protobuf.Message,
  path = '',
): string[] {
  const missing: string[] = [];
  const values = message as unknown as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
    const value = values[field.name];
    const isSet = Object.hasOwn(values, field.name) && value !== undefined && value !== null;
    if (field.required && !isSet) missing.push(fieldPath);
    const nested = field.resolvedType;
    if (!isSet || !(nested instanceof protobuf.Type)) continue;
    if (field.map)
      for (const [key, item] of Object.entries(value as Record<string, protobuf.Message>))
        missing.push(...missingRequired(nested, item, `${fieldPath}.${key}`));
    else if (field.repeated)
      (value as protobuf.Message[]).forEach((item, i) => {
        missing.push(...missingRequired(nested, item, `${fieldPath}[${i}]`));
      });
    else missing.push(...missingRequired(nested, value as protobuf.Message, fieldPath));
  }
  return missing;
}

/**
 * Decodes `bytes` as `typeName` the way a strict client does, refusing any missing
 * required field, and returns the message as the object its JSON encoding gives:
 * enums by name, 64-bit integers as numbers, bytes as base64.
 */
export function strictDecode(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = strictRoot().lookupType(typeName);
  const message = type.decode(bytes);
  const missing = missingRequired(type, message);
  if (missing.length > 0)
    throw new Error(`${typeName} lacks required fields: ${missing.join(', ')}`);
  return type.toObject(message, { enums: String, longs: Number, bytes: String }) as Record<
    string,
    unknown
  >;
}

/** Encodes a wire-JSON object with protobufjs (enum names, base64 bytes, numeric int64s). */
export function strictEncode(typeName: string, value: Record<string, unknown>): Uint8Array {
  const type = strictRoot().lookupType(typeName);
  return type.encode(type.fromObject(value)).finish();
}

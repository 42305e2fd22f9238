// Reads this folder's .proto files with protobufjs and compiles them to the
// plain descriptor the codec works from. Run from sources (tests under tsx) this
// happens when the codec first loads (load.ts); `npm run build` (scripts/build.mjs)
// runs it once and puts its result in place of this module in the bundles, so the
// daemons and `agora run` never load protobufjs or read a .proto file.
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import {
  type FieldDescriptor,
  type MessageDescriptor,
  PROTO_FILES,
  type ProtoDescriptor,
} from './descriptor.js';

/** Compiles the .proto files in `dir` (this module's own folder unless the build says otherwise). */
export function compileProtos(dir: URL = new URL('.', import.meta.url)): ProtoDescriptor {
  const root = new protobuf.Root();
  // keepCase: the wire's snake_case names, as the JSON encoding uses them.
  for (const file of PROTO_FILES)
    protobuf.parse(readFileSync(new URL(file, dir), 'utf8'), root, {
      keepCase: true,
    });
  root.resolveAll();
  const messages: Record<string, MessageDescriptor> = {};
  const enums: Record<string, Record<string, number>> = {};
  const visit = (namespace: protobuf.NamespaceBase) => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) messages[fullName(nested)] = message(nested);
      else if (nested instanceof protobuf.Enum) enums[fullName(nested)] = { ...nested.values };
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) visit(nested);
    }
  };
  visit(root);
  return { messages, enums };
}

function fullName(object: protobuf.ReflectionObject): string {
  return object.fullName.replace(/^\./, '');
}

function message(type: protobuf.Type): MessageDescriptor {
  const fields = type.fieldsArray
    .map((field): FieldDescriptor => {
      const resolved = field.resolvedType;
      const base = {
        name: field.name,
        id: field.id,
        type: resolved === null ? field.type : fullName(resolved),
      };
      if (field instanceof protobuf.MapField)
        return { ...base, rule: 'map', keyType: field.keyType };
      if (field.repeated)
        return { ...base, rule: 'repeated', ...(field.packed ? { isPacked: true } : {}) };
      return { ...base, rule: field.required ? 'required' : 'optional' };
    })
    .sort((a, b) => a.id - b.id);
  return { fields };
}

// A raw v1 client for integration tests, in either encoding, built on nothing of
// Agora's codec: protobuf calls are encoded and events decoded by protobufjs over
// the same .proto files (a strict client: a record lacking a required field
// fails the test), JSON by JSON.stringify/parse. Every record is also decoded by
// Agora's own codec, which must agree.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { openStream, request } from '../../src/sdk/index.js';
import { PROTO_MESSAGES, RecordIODecoder } from '../../src/wire/index.js';
import { ProtoCodec } from '../../src/wire/proto/codec.js';
import { compileProtos } from '../../src/wire/proto/compile.js';
import { strictDecode, strictEncode } from '../wire/proto-strict.js';
import { waitFor } from './harness.js';

export type Json = Record<string, unknown>;

/** Agora's own codec, from the sources: what every record is checked against. */
export const agoraCodec = new ProtoCodec(compileProtos());

export interface WireCodec {
  readonly name: 'json' | 'protobuf';
  readonly mediaType: 'application/json' | 'application/x-protobuf';
  encode(typeName: string, message: Json): string | Uint8Array;
  /** Decodes one message; protobuf strictly, and checked against Agora's decoder. */
  decode(typeName: string, bytes: Buffer): Json;
}

export const JSON_CODEC: WireCodec = {
  name: 'json',
  mediaType: 'application/json',
  encode: (_typeName, message) => JSON.stringify(message),
  decode: (typeName, bytes) => {
    const message = JSON.parse(bytes.toString('utf8')) as Json;
    assertRepresentable(typeName, message);
    return message;
  },
};

export const PROTOBUF_CODEC: WireCodec = {
  name: 'protobuf',
  mediaType: 'application/x-protobuf',
  encode: (typeName, message) => strictEncode(typeName, message),
  decode: (typeName, bytes) => {
    const message = strictDecode(typeName, bytes);
    assert.deepEqual(
      agoraCodec.decode(typeName, bytes),
      message,
      `Agora decodes ${typeName} alike`,
    );
    return message;
  },
};

export const CODECS = [JSON_CODEC, PROTOBUF_CODEC] as const;

/** `value` without empty arrays: protobuf cannot tell an empty repeated field from an absent one. */
export function withoutEmptyLists(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyLists);
  if (typeof value !== 'object' || value === null) return value;
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || (Array.isArray(item) && item.length === 0)) continue;
    out[key] = withoutEmptyLists(item);
  }
  return out;
}

/**
 * A JSON message the master sent loses nothing in protobuf, and a strict client would
 * take it: every field is in the .proto files with its type, and every required field
 * is there.
 */
export function assertRepresentable(typeName: string, message: Json): void {
  const bytes = agoraCodec.encode(typeName, message);
  assert.deepEqual(
    infinitiesAsStrings(agoraCodec.decode(typeName, bytes)),
    withoutEmptyLists(message),
    `${typeName} ${String(message.type)} keeps every field in protobuf`,
  );
  strictDecode(typeName, bytes);
}

/**
 * A decoded message with its infinite doubles written as JSON writes them ("Infinity": JSON
 * has no infinity, WIRE §1.2), so a task's unbounded limit compares equal in both encodings.
 */
function infinitiesAsStrings(value: unknown): unknown {
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (Array.isArray(value)) return value.map(infinitiesAsStrings);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, infinitiesAsStrings(item)]),
  );
}

/** Every dotted key path in `value`, array indices as `[]`: an event's shape. */
export function shapeOf(value: unknown, path = '', into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) shapeOf(item, `${path}[]`, into);
  else if (typeof value === 'object' && value !== null)
    for (const [key, item] of Object.entries(value))
      shapeOf(item, path === '' ? key : `${path}.${key}`, into);
  else into.add(path);
  return into;
}

/** A RecordIO response read in the background; its records decoded as they arrive. */
export class RecordStream {
  readonly records: Json[] = [];
  private isEnded = false;

  constructor(
    readonly response: IncomingMessage,
    private readonly codec: WireCodec,
    typeName: string,
  ) {
    const decoder = new RecordIODecoder();
    response.on('data', (chunk: Buffer) => {
      for (const record of decoder.decode(chunk)) this.records.push(codec.decode(typeName, record));
    });
    response.on('close', () => {
      this.isEnded = true;
    });
  }

  get headers(): IncomingHttpHeaders {
    return this.response.headers;
  }

  get hasEnded(): boolean {
    return this.isEnded;
  }

  /** The first record after `from` (an index) of `type` that `match` accepts. */
  async next(type: string, match: (record: Json) => boolean = () => true, from = 0): Promise<Json> {
    try {
      return await waitFor(`a ${type} record (${this.codec.name})`, () =>
        this.records.slice(from).find((r) => r.type === type && match(r)),
      );
    } catch (error) {
      // Say what did come, so a failure can be read without a rerun.
      const seen = this.records.map((r) => JSON.stringify(r).slice(0, 300)).join('\n  ');
      throw new Error(`${(error as Error).message}; records so far:\n  ${seen}`, { cause: error });
    }
  }

  close(): void {
    this.response.destroy();
  }
}

export interface Exchange {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** POSTs one message to `url` in `codec`'s encoding, asking for the same in return. */
export async function postMessage(
  url: URL,
  codec: WireCodec,
  typeName: string,
  message: Json,
  headers: Readonly<Record<string, string>> = {},
): Promise<Exchange> {
  return request(url, {
    method: 'POST',
    body: codec.encode(typeName, message),
    headers: { 'content-type': codec.mediaType, accept: codec.mediaType, ...headers },
  });
}

/** Opens a RecordIO stream with a SUBSCRIBE call; asserts the 200 and the Content-Type. */
export async function openRecordStream(
  url: URL,
  codec: WireCodec,
  callType: string,
  eventType: string,
  call: Json,
): Promise<RecordStream> {
  const response = await openStream(url, {
    method: 'POST',
    body: codec.encode(callType, call),
    headers: { 'content-type': codec.mediaType, accept: codec.mediaType },
  });
  if (response.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    assert.fail(`SUBSCRIBE answered ${response.statusCode}: ${Buffer.concat(chunks).toString()}`);
  }
  assert.equal(
    response.headers['content-type'],
    codec.mediaType,
    'the stream speaks what was asked',
  );
  return new RecordStream(response, codec, eventType);
}

export { PROTO_MESSAGES };

// Content negotiation for the v1 APIs (WIRE §1.4), the one place every API route
// goes through: Content-Type picks how a call is decoded, Accept how replies and
// event streams are encoded, both exactly as Mesos chooses. The protobuf codec is
// loaded only when a request or a reply needs it, so a JSON-only process never pays
// for it.
import type { ServerResponse } from 'node:http';
import {
  BadRequestError,
  loadProtoCodec,
  type ProtoCodec,
  ProtoDecodeError,
  quote,
  stringifyJson,
  toAsciiJson,
} from '../wire/index.js';
import { HttpError } from './http-errors.js';
import { parseJsonBody, readBody, sendEmpty } from './http-io.js';
import type { Handler, Request } from './http-server.js';
import { writeChunk } from './json-stream.js';

export const APPLICATION_JSON = 'application/json';
export const APPLICATION_PROTOBUF = 'application/x-protobuf';
export const APPLICATION_RECORDIO = 'application/recordio';

/** How one message is encoded: the two encodings Mesos speaks. */
export type MediaType = typeof APPLICATION_JSON | typeof APPLICATION_PROTOBUF;

/**
 * How a body is encoded: one message, or (the agent's streamed calls) RecordIO whose
 * records are each one message in `records`' encoding.
 */
export type BodyEncoding =
  | { readonly body: MediaType }
  | { readonly body: typeof APPLICATION_RECORDIO; readonly records: MediaType };

/** Encodes messages of one protobuf type in one media type. */
export interface MessageEncoder {
  /** What the response's Content-Type says, exactly: clients compare the whole string. */
  readonly contentType: MediaType;
  encode(message: unknown): string | Uint8Array;
}

/** Records of a JSON event stream: non-ASCII escaped, so byte length = string length (WIRE §1.5). */
export const JSON_EVENT_ENCODER: MessageEncoder = {
  contentType: APPLICATION_JSON,
  encode: toAsciiJson,
};

/** A JSON reply, written as stringifyJson writes it. */
const JSON_REPLY_ENCODER: MessageEncoder = { contentType: APPLICATION_JSON, encode: stringifyJson };

/**
 * Mesos' `Request::acceptsMediaType` (libprocess http.cpp), so the same Accept header
 * picks the same encoding: the header is a comma list (sent twice, Node joins it with
 * commas); `type/subtype` is looked for first, then `type/*`, then `*\/*`, and the first
 * entry that matches decides: acceptable unless its `q` is 0 or not a number. A q-value
 * ranks nothing: JSON is taken whenever acceptable. An absent header accepts anything;
 * so, in Agora, does an empty one (Mesos refuses it with 406; it says nothing either way).
 */
export function acceptsMediaType(header: string | undefined, mediaType: string): boolean {
  if (header === undefined) return true;
  const entries = header
    .replace(/[ \t\n]/g, '')
    .split(',')
    .filter((entry) => entry !== '');
  if (entries.length === 0) return true;
  const [type] = mediaType.split('/');
  for (const candidate of [mediaType, `${type}/*`, '*/*'])
    for (const entry of entries) {
      const [name, ...parameters] = entry.split(';').filter((token) => token !== '');
      if (name?.toLowerCase() !== candidate) continue;
      const q = parameters
        .map((parameter) => parameter.split('='))
        .filter((pair) => pair.length === 2 && pair[0] === 'q')
        .map((pair) => pair[1] ?? '');
      if (q.length !== 1) return true;
      const value = Number(q[0]);
      return q[0] !== '' && Number.isFinite(value) && value > 0;
    }
  return false;
}

function headerOf(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Content-Type's media type, lower-cased, without parameters (Agora takes `; charset=…`). */
function mediaTypeOf(value: string): string {
  return (value.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * How the request's body is encoded (WIRE §1.8: missing → 400, anything else → 415). With
 * `isStreamingAllowed` (the agent's streamed calls), `application/recordio` is taken too,
 * and its records are encoded as `Message-Content-Type` says; a non-streamed request may
 * not carry that header (415), as Mesos' agent refuses it.
 */
export function requestMediaType(
  request: Request,
  options: { readonly isStreamingAllowed?: boolean } = {},
): BodyEncoding {
  const contentType = headerOf(request, 'content-type');
  if (contentType === undefined)
    throw new BadRequestError('', "Expecting 'Content-Type' to be present");
  const type = mediaTypeOf(contentType);
  const isStreamingAllowed = options.isStreamingAllowed === true;
  const messageContentType = headerOf(request, 'message-content-type');
  if (type === APPLICATION_RECORDIO && isStreamingAllowed) {
    if (messageContentType === undefined)
      throw new BadRequestError(
        '',
        "Expecting 'Message-Content-Type' to be set for streaming requests",
      );
    const records = mediaTypeOf(messageContentType);
    if (records !== APPLICATION_JSON && records !== APPLICATION_PROTOBUF)
      throw new HttpError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Expecting 'Message-Content-Type' of ${APPLICATION_JSON} or ${APPLICATION_PROTOBUF}; received ${quote(messageContentType)}`,
      );
    return { body: APPLICATION_RECORDIO, records };
  }
  if (type !== APPLICATION_JSON && type !== APPLICATION_PROTOBUF)
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Expecting 'Content-Type' of ${APPLICATION_JSON} or ${APPLICATION_PROTOBUF}${isStreamingAllowed ? ` or ${APPLICATION_RECORDIO}` : ''}; received ${quote(contentType)}`,
    );
  if (isStreamingAllowed && messageContentType !== undefined)
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      "Expecting 'Message-Content-Type' to be not set for non-streaming requests",
    );
  return { body: type };
}

/**
 * How the reply (or event stream) is encoded, from Accept: JSON if acceptable, else
 * protobuf, else 406. With `isStreamingAllowed` (the agent's streamed replies),
 * `application/recordio` is taken third, its records encoded as `Message-Accept` allows;
 * a non-streamed reply refuses a Message-Accept header (406), as Mesos' agent does.
 */
export function replyMediaType(
  request: Request,
  options: { readonly isStreamingAllowed?: boolean } = {},
): BodyEncoding {
  const accept = headerOf(request, 'accept');
  const isStreamingAllowed = options.isStreamingAllowed === true;
  const messageAccept = headerOf(request, 'message-accept');
  let body: MediaType | typeof APPLICATION_RECORDIO;
  if (acceptsMediaType(accept, APPLICATION_JSON)) body = APPLICATION_JSON;
  else if (acceptsMediaType(accept, APPLICATION_PROTOBUF)) body = APPLICATION_PROTOBUF;
  else if (isStreamingAllowed && acceptsMediaType(accept, APPLICATION_RECORDIO))
    body = APPLICATION_RECORDIO;
  else
    throw new HttpError(
      'NOT_ACCEPTABLE',
      `Expecting 'Accept' to allow '${APPLICATION_PROTOBUF}' or '${APPLICATION_JSON}'${isStreamingAllowed ? ` or '${APPLICATION_RECORDIO}'` : ''}`,
    );
  if (body === APPLICATION_RECORDIO) {
    if (acceptsMediaType(messageAccept, APPLICATION_JSON))
      return { body, records: APPLICATION_JSON };
    if (acceptsMediaType(messageAccept, APPLICATION_PROTOBUF))
      return { body, records: APPLICATION_PROTOBUF };
    throw new HttpError(
      'NOT_ACCEPTABLE',
      `Expecting 'Message-Accept' to allow '${APPLICATION_PROTOBUF}' or '${APPLICATION_JSON}'`,
    );
  }
  if (isStreamingAllowed && messageAccept !== undefined)
    throw new HttpError(
      'NOT_ACCEPTABLE',
      "Expecting 'Message-Accept' to be not set for non-streaming responses",
    );
  return { body };
}

/** The short name Mesos' messages use for a type: `mesos.v1.scheduler.Call` → `Call`. */
function shortName(typeName: string): string {
  return typeName.slice(typeName.lastIndexOf('.') + 1);
}

/**
 * Reads a call's body and decodes it as its Content-Type says, into the object a JSON
 * body parses to: the caller validates both alike. Refuses what readBody and
 * parseJsonBody refuse, and a protobuf body that is not a `callType` message (400
 * naming the field and the byte).
 */
export async function readCallBody(request: Request, callType: string): Promise<unknown> {
  // The usual Content-Type, exactly: nothing to take apart (requestMediaType answers the same).
  if (request.headers['content-type'] === APPLICATION_JSON)
    return parseJsonBody(await readBody(request));
  const { body: mediaType } = requestMediaType(request);
  if (mediaType === APPLICATION_RECORDIO)
    throw new Error('readCallBody reads whole bodies: a streamed request is read record by record');
  return decodeCall(mediaType, callType, await readBody(request));
}

/**
 * One call (a whole body, or one record of a streamed request) decoded as `mediaType`
 * says, into the object a JSON body parses to. Refuses what parseJsonBody refuses, and
 * protobuf that is not a `callType` message (400 naming the field and the byte).
 */
export async function decodeCall(
  mediaType: MediaType,
  callType: string,
  bytes: Buffer,
): Promise<unknown> {
  if (mediaType === APPLICATION_JSON) return parseJsonBody(bytes);
  return decodeProtobuf(await loadProtoCodec(), callType, bytes);
}

function decodeProtobuf(codec: ProtoCodec, typeName: string, body: Uint8Array): unknown {
  try {
    return codec.decode(typeName, body);
  } catch (error) {
    if (error instanceof ProtoDecodeError)
      throw new BadRequestError(
        error.path,
        `Failed to parse body into ${shortName(typeName)} protobuf: ${error.reason} (at byte ${error.offset})`,
        { cause: error },
      );
    throw error;
  }
}

/**
 * An encoder for messages of protobuf type `typeName` in `mediaType`. JSON records of a
 * stream escape non-ASCII (`isStream`); a JSON reply is written as stringifyJson writes it.
 */
export async function messageEncoder(
  mediaType: MediaType,
  typeName: string,
  options: { readonly isStream?: boolean } = {},
): Promise<MessageEncoder> {
  if (mediaType === APPLICATION_JSON)
    return options.isStream === true ? JSON_EVENT_ENCODER : JSON_REPLY_ENCODER;
  const codec = await loadProtoCodec();
  return {
    contentType: APPLICATION_PROTOBUF,
    encode: (message) => codec.encode(typeName, message),
  };
}

/** Writes one encoded message as the whole reply. */
export function sendMessage(
  response: ServerResponse,
  status: number,
  encoder: MessageEncoder,
  message: unknown,
): void {
  const encoded = encoder.encode(message);
  const body = typeof encoded === 'string' ? Buffer.from(encoded, 'utf8') : encoded;
  response.writeHead(status, {
    'content-type': encoder.contentType,
    'content-length': body.byteLength,
  });
  response.end(body);
}

/**
 * Answers `status` with `message` as a protobuf `typeName`, written as it is encoded
 * (ProtoCodec.encodePieces: its LazyLists rendered item by item), chunked, with a loop
 * round (or 'drain') between pieces, as streamJson writes JSON: a GET_STATE of 100,000
 * tasks neither holds the loop nor is ever whole in memory. Stops early if the client left.
 */
export async function streamProtobuf(
  response: ServerResponse,
  status: number,
  typeName: string,
  message: unknown,
): Promise<void> {
  const pieces = (await loadProtoCodec()).encodePieces(typeName, message);
  // The first piece is encoded before the head goes out: a message missing a required
  // field is then still a 500, not a 200 cut short.
  const first = pieces.next();
  response.writeHead(status, { 'content-type': APPLICATION_PROTOBUF });
  if (first.done === true) return void response.end();
  if (!(await writeChunk(response, first.value))) return;
  for (const piece of pieces) if (!(await writeChunk(response, piece))) return;
  response.end();
}

/** The protobuf message types of one v1 API: what it reads, replies and streams. */
export interface ApiMessages {
  readonly call: string;
  readonly reply?: string;
  readonly event?: string;
}

/** What a v1 API handler is handed along with its validated call. */
export interface ApiExchange {
  /** The reply's media type, chosen from Accept before the handler ran. */
  readonly mediaType: MediaType;
  /** Sends a reply message (`{type, <type>: …}`) with `status`, encoded per Accept. */
  reply(status: number, message: unknown): void;
  /** Sends a status with no body (202, or 200 for calls that answer nothing). */
  replyEmpty(status: number): void;
  /** Encodes the records of an event stream per Accept. */
  readonly events: MessageEncoder;
}

export interface ApiRouteOptions<C> {
  readonly messages: ApiMessages;
  /** Validates the decoded body (the same zod schema for JSON and protobuf). */
  readonly parse: (body: unknown) => C;
  /**
   * Whether Accept is checked for this call (406 before anything runs). Mesos' scheduler
   * endpoint checks it only for calls that answer with a body; the operator API for all.
   */
  readonly isNegotiated?: (call: C) => boolean;
}

/**
 * A handler for one v1 API endpoint, in Mesos' order: Content-Type (400/415), body
 * (413/400), validation (400), Accept (406); then `handle` runs with the call and the
 * encoders chosen for it.
 */
export function apiRoute<C>(
  options: ApiRouteOptions<C>,
  handle: (
    call: C,
    exchange: ApiExchange,
    request: Request,
    response: ServerResponse,
  ) => Promise<void> | void,
): Handler {
  return async (request, response) => {
    const call = options.parse(await readCallBody(request, options.messages.call));
    const mediaType =
      options.isNegotiated?.(call) === false ? APPLICATION_JSON : replyMediaType(request).body;
    // replyMediaType without streaming allowed answers JSON or protobuf only.
    const chosen = mediaType === APPLICATION_PROTOBUF ? APPLICATION_PROTOBUF : APPLICATION_JSON;
    const { reply, event } = options.messages;
    // JSON's encoders are at hand: no promise to wait for on every call (most are JSON).
    const replies =
      reply === undefined
        ? undefined
        : chosen === APPLICATION_JSON
          ? JSON_REPLY_ENCODER
          : await messageEncoder(chosen, reply);
    const events =
      event === undefined || chosen === APPLICATION_JSON
        ? JSON_EVENT_ENCODER
        : await messageEncoder(chosen, event, { isStream: true });
    await handle(call, new Exchange(chosen, response, replies, events), request, response);
  };
}

/** An ApiExchange: a class, so its methods are not closures made per call. */
class Exchange implements ApiExchange {
  constructor(
    readonly mediaType: MediaType,
    private readonly response: ServerResponse,
    private readonly replies: MessageEncoder | undefined,
    readonly events: MessageEncoder,
  ) {}

  reply(status: number, message: unknown): void {
    if (this.replies === undefined) throw new Error('this API has no reply messages');
    sendMessage(this.response, status, this.replies, message);
  }

  replyEmpty(status: number): void {
    sendEmpty(this.response, status);
  }
}

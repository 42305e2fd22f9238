// Large JSON documents (`/master/state` of a 10,000-agent cluster is some 40 MB) written
// piece by piece: the lists in them render one item at a time as they are written, and the
// loop is given back between chunks, so the daemon keeps serving while a document goes out
// and never holds the whole document (nor every item's rendered object) at once.
import type { ServerResponse } from 'node:http';
import { setImmediate as nextLoopRound } from 'node:timers/promises';
import { LazyList, stringifyJson } from '../wire/index.js';

export { LazyList, lazyList } from '../wire/index.js';

/** About this much JSON text is written at once, and the loop then given back. */
export const JSON_CHUNK_CHARS = 64 * 1024;

/**
 * The JSON text of `value` in pieces, exactly as stringifyJson(value) would write it once
 * every LazyList in it is replaced by the array of its rendered items. Plain objects and
 * arrays are walked item by item (so a LazyList may sit at any depth of them); anything
 * else (primitives, each rendered item of a LazyList) is written whole by stringifyJson.
 * So keep what is not in a LazyList small: walking is slower than native stringify.
 */
export function* jsonPieces(value: unknown): Generator<string> {
  if (value instanceof LazyList) {
    yield '[';
    let isFirst = true;
    const { render, kept } = value;
    for (const item of value.items) {
      const piece =
        kept === undefined ? itemJson(render(item)) : kept.json(item, () => itemJson(render(item)));
      yield isFirst ? piece : `,${piece}`;
      isFirst = false;
    }
    yield ']';
    return;
  }
  if (Array.isArray(value)) {
    yield '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ',';
      const item: unknown = value[i];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol')
        yield 'null';
      else yield* jsonPieces(item);
    }
    yield ']';
    return;
  }
  if (!isPlainObject(value)) {
    yield stringifyJson(value);
    return;
  }
  yield '{';
  let isFirst = true;
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    yield `${isFirst ? '' : ','}${JSON.stringify(key)}:`;
    isFirst = false;
    yield* jsonPieces(item);
  }
  yield '}';
}

/** An array item's JSON text: JSON.stringify writes null for one it would leave out of an object. */
function itemJson(item: unknown): string {
  const text: string | undefined = stringifyJson(item);
  return text === undefined ? 'null' : text;
}

/** The whole text at once (for tests, and for replies that are not streamed). */
export function jsonText(value: unknown): string {
  let text = '';
  for (const piece of jsonPieces(value)) text += piece;
  return text;
}

export interface StreamJsonOptions {
  /** `?jsonp=fn` of the legacy endpoints: the body is `fn(<json>);` as text/javascript. */
  readonly jsonpCallback?: string;
  readonly chunkChars?: number;
}

/**
 * Answers `status` with the JSON of `value`, chunked (no Content-Length: the length is not
 * known until the end). Between chunks it waits for the next loop round, and for 'drain'
 * when the socket is full, so one slow or large reader holds at most a chunk or two in
 * memory. Stops early, quietly, if the client goes away.
 */
export async function streamJson(
  response: ServerResponse,
  status: number,
  value: unknown,
  options: StreamJsonOptions = {},
): Promise<void> {
  const callback = options.jsonpCallback;
  const chunkChars = options.chunkChars ?? JSON_CHUNK_CHARS;
  response.writeHead(status, {
    'content-type': callback !== undefined ? 'text/javascript' : 'application/json',
  });
  let chunk = callback !== undefined ? `${callback}(` : '';
  for (const piece of jsonPieces(value)) {
    chunk += piece;
    if (chunk.length < chunkChars) continue;
    if (!(await writeChunk(response, chunk))) return;
    chunk = '';
  }
  if (callback !== undefined) chunk += ');';
  response.end(chunk);
}

/** Writes one chunk, then waits for the next loop round (or 'drain'); false once the client left. */
export async function writeChunk(
  response: ServerResponse,
  chunk: string | Uint8Array,
): Promise<boolean> {
  if (response.destroyed) return false;
  const isFull = !response.write(chunk);
  if (isFull)
    await new Promise<void>((resolve) => {
      const done = () => {
        response.off('drain', done);
        response.off('close', done);
        resolve();
      };
      response.on('drain', done);
      response.on('close', done);
    });
  else await nextLoopRound();
  return !response.destroyed;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  // An object with toJSON is written as what toJSON returns, by stringifyJson.
  return typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

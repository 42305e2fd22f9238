// The narrow response an event stream writes to: node:http's ServerResponse, or the front's writer.
import type { Socket } from 'node:net';

/**
 * What a stream needs of its response: the part of node:http's ServerResponse it uses, so
 * that the master's connection front (http-front.ts) can answer an agent's SUBSCRIBE with
 * its own writer of the same bytes, without a ServerResponse (#10).
 */
export interface StreamResponse {
  writeHead(statusCode: number, headers: Readonly<Record<string, string>>): unknown;
  /** Writes the head now (it is otherwise written with the first body bytes). */
  flushHeaders(): void;
  once(event: 'close', listener: () => void): unknown;
  /** The socket once the response may write to it (null while it waits behind a pipelined one). */
  readonly socket: Socket | null;
  readonly chunkedEncoding: boolean;
  readonly writableEnded: boolean;
  readonly writableLength: number;
  readonly destroyed: boolean;
  write(chunk: string | Buffer): boolean;
  end(): unknown;
  destroy(error?: Error): unknown;
}

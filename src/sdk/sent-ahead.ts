// The request `agora run`'s prelude (bin/run-ahead.js) wrote before the run bundle loaded,
// and the answer it read, handed to lean-http's first matching request (#7 item 17).
import type { Socket } from 'node:net';

/**
 * The request `agora run`'s prelude wrote before this bundle loaded (bin/run-ahead.js: its
 * SUBSCRIBE, whose answer the master sends while the bundle starts; #7 item 17), on a
 * paused socket. Registered on globalThis: the prelude is not part of the bundle.
 */
const SENT_AHEAD_KEY = Symbol.for('agora.sentAhead');

interface SentAhead {
  readonly origin: string;
  readonly request: string;
  readonly socket: Socket;
  readonly failed: boolean;
  /** What the prelude read of the answer already (it reads up to the ACCEPT): read again here. */
  readonly bytes?: readonly Buffer[];
}

export function hasSentAhead(): boolean {
  return Reflect.has(globalThis, SENT_AHEAD_KEY);
}

/**
 * The prelude's socket if it carries exactly `request` to `url`'s origin and is still
 * sound; taken once. Anything else (another request first, a refused connection) closes
 * it, and the caller sends its own request as usual.
 */
export function takeSentAhead(url: URL, request: string): Socket | undefined {
  const ahead = Reflect.get(globalThis, SENT_AHEAD_KEY) as SentAhead | undefined;
  if (ahead === undefined) return undefined;
  Reflect.deleteProperty(globalThis, SENT_AHEAD_KEY);
  if (
    ahead.origin !== url.origin ||
    ahead.request !== request ||
    ahead.failed ||
    ahead.socket.destroyed
  ) {
    ahead.socket.destroy();
    return undefined;
  }
  ahead.socket.removeAllListeners('error');
  // Paused, with no reader: the bytes go back in front of whatever the kernel still holds.
  if (ahead.bytes !== undefined && ahead.bytes.length > 0)
    ahead.socket.unshift(Buffer.concat(ahead.bytes));
  return ahead.socket;
}

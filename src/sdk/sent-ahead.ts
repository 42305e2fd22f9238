// The request `agora run`'s prelude (bin/run-ahead.js) wrote before the run bundle loaded,
// handed to lean-http's first matching request (#7 item 17).
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
  return ahead.socket;
}

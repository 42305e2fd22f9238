// One subscription's connection to a master, without node:http's client: a socket, the
// request written as the bytes a real agent's node:http client sends (sim-network.ts makes
// them), and the answer read by our own HttpStreamReader. In a failover storm the simulated
// agents all open a stream at once; node:http's request and response objects, its agent's
// bookkeeping and its stream machinery cost the simulator 3-4 times what the socket itself
// does, CPU taken from the master on the bench machine's two cores.
import { connect, type Socket } from 'node:net';
import { HttpStreamReader, type StreamHead } from './http-stream-reader.js';

/** A request: its head (request line and headers) as text, its body as bytes. */
export interface SubscribeRequest {
  readonly head: string;
  readonly body: Buffer;
}

/** What reads the body: each piece as it arrives, then the end (with its cause, if not a clean one). */
interface BodyReader {
  readonly body: (bytes: Buffer) => void;
  readonly end: (error: Error | undefined) => void;
}

type Phase =
  /** Connecting, request sent or on its way, no head yet. */
  | { readonly kind: 'opening' }
  /** Head read; body pieces kept until read() is called. */
  | { readonly kind: 'unread'; readonly pieces: Buffer[] }
  | { readonly kind: 'reading'; readonly reader: BodyReader }
  /** The body ended (or the connection did): `error` is why, if not cleanly; `pieces` unread. */
  | { readonly kind: 'ended'; readonly error: Error | undefined; readonly pieces: Buffer[] };

/**
 * Opens the connection at once. `onHead` runs once the answer's head is read (whatever its
 * status); `onFail` instead, if the connection fails or ends before it. After the head,
 * read() takes the body; destroy() ends it (read's end then runs, with no error).
 */
export class SimStream {
  private readonly socket: Socket;
  private readonly reader = new HttpStreamReader();
  private phase: Phase = { kind: 'opening' };
  private head: StreamHead | undefined;
  /** A socket error, kept for the end its close brings. */
  private error: Error | undefined;
  private isDestroyed = false;

  constructor(
    master: URL,
    request: SubscribeRequest,
    private readonly onHead: (stream: SimStream) => void,
    private readonly onFail: (error: Error) => void,
    private readonly onClosed: (stream: SimStream) => void,
  ) {
    this.socket = connect({ host: master.hostname, port: Number(master.port) });
    // Written once connected, in one writev: the body's bytes as kept, not copied behind
    // the head (10,000 copies of ~7 KB in a storm).
    this.socket.cork();
    this.socket.write(request.head, 'latin1');
    this.socket.write(request.body);
    this.socket.uncork();
    this.socket.on('data', (chunk: Buffer) => this.received(chunk));
    this.socket.on('error', (error) => {
      this.error ??= error;
    });
    this.socket.on('close', () => this.closed());
  }

  get status(): number {
    return this.head?.status ?? 0;
  }

  get streamId(): string | undefined {
    return this.head?.streamId;
  }

  /** Takes the body: pieces kept since the head first, then each as it arrives. */
  read(body: (bytes: Buffer) => void, end: (error: Error | undefined) => void): void {
    const phase = this.phase;
    if (phase.kind === 'unread') {
      this.phase = { kind: 'reading', reader: { body, end } };
      for (const piece of phase.pieces) {
        if (this.isDestroyed) break; // closed by a piece's reader
        body(piece);
      }
      return;
    }
    if (phase.kind === 'ended') {
      // As a stream's 'close' is never synchronous with the call that listens for it.
      process.nextTick(() => {
        for (const piece of phase.pieces) body(piece);
        end(phase.error);
      });
      return;
    }
    throw new Error(`a stream is read once, after its head (it is ${phase.kind})`);
  }

  /** Closes the connection; the reader's end runs once it is closed. Idempotent. */
  destroy(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    if (this.isDestroyed) return;
    try {
      this.reader.push(chunk, this.sink);
    } catch (error) {
      this.error ??= error instanceof Error ? error : new Error(String(error));
      this.destroy();
    }
  }

  /** The reader's findings, bound once (not a closure per chunk). */
  private readonly sink = {
    head: (head: StreamHead) => {
      this.head = head;
      this.phase = { kind: 'unread', pieces: [] };
      this.onHead(this);
    },
    body: (bytes: Buffer) => {
      if (this.isDestroyed) return;
      const phase = this.phase;
      if (phase.kind === 'reading') phase.reader.body(bytes);
      else if (phase.kind === 'unread') phase.pieces.push(bytes);
    },
    end: () => {
      // A whole answer (a refusal's): the master closes; nothing more is read.
      this.finish(undefined);
      this.destroy();
    },
  };

  private closed(): void {
    if (this.head === undefined) {
      this.phase = { kind: 'ended', error: this.error, pieces: [] };
      this.onFail(
        this.error ??
          new Error(
            this.isDestroyed
              ? 'closed before the answer'
              : 'the master closed the connection before answering',
          ),
      );
    } else {
      // A body the master cut short (its stream closed) is the subscription's end, as a
      // real agent sees it; a local destroy() is a clean end.
      this.finish(
        this.error ??
          (this.isDestroyed || this.reader.isDone
            ? undefined
            : new Error('the master closed the stream')),
      );
    }
    this.onClosed(this);
  }

  private finish(error: Error | undefined): void {
    const phase = this.phase;
    if (phase.kind === 'ended') return;
    this.phase = { kind: 'ended', error, pieces: phase.kind === 'unread' ? phase.pieces : [] };
    if (phase.kind === 'reading') phase.reader.end(error);
  }
}

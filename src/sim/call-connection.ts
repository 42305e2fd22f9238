// One keep-alive connection of the simulator's calls to a master, without node:http's
// client: a request is a string, the calls handed to a connection in one loop round go out
// in one write, and up to `depth` of them may wait for their answers at once (HTTP/1.1
// pipelining: the server answers in order). node:http's client made an object graph and
// several listeners per call and one write each; with 10,000 simulated agents in one
// process that, not the master, was the limit of bench:master.
import { connect, type Socket } from 'node:net';
import { HttpResponseParser } from './http-response-parser.js';

/** What a call got back. The body is kept only for answers other than 2xx. */
export interface CallResult {
  readonly status: number;
  readonly body: string;
}

/** A call waiting for its answer on a connection. */
export interface ConnectionCall {
  readonly path: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly resolve: (result: CallResult) => void;
  readonly reject: (error: Error) => void;
}

/** Connections with requests written this loop round, flushed together after it. */
const unflushed = new Set<CallConnection>();
let isFlushScheduled = false;

function flushAll(): void {
  isFlushScheduled = false;
  for (const connection of unflushed) connection.flush();
  unflushed.clear();
}

export class CallConnection {
  private readonly socket: Socket;
  private readonly parser = new HttpResponseParser();
  /** Sent (or about to be), oldest first: answers come in this order. */
  private readonly waiting: (ConnectionCall | undefined)[] = [];
  private waitingHead = 0;
  private pendingText = '';
  private isClosed = false;

  /**
   * `onSettled` runs after each answered or failed call (the network starts waiting calls);
   * `onClosed` once, when the connection can take no more.
   */
  constructor(
    private readonly master: URL,
    private readonly onSettled: (connection: CallConnection) => void,
    private readonly onClosed: (connection: CallConnection, error: Error | undefined) => void,
    private readonly onNetworkError: (calls: number) => void,
  ) {
    this.socket = connect({ host: master.hostname, port: Number(master.port) });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.received(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('connection closed by the master')));
  }

  /** Calls sent and not yet answered. */
  get inFlight(): number {
    return this.waiting.length - this.waitingHead;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  get target(): URL {
    return this.master;
  }

  /** Queues the call's request for this round's write. */
  send(call: ConnectionCall): void {
    this.waiting.push(call);
    const { master } = this;
    let text = `POST ${call.path} HTTP/1.1\r\nHost: ${master.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(call.body)}\r\n`;
    for (const [name, value] of Object.entries(call.headers)) text += `${name}: ${value}\r\n`;
    this.pendingText += `${text}\r\n${call.body}`;
    unflushed.add(this);
    if (!isFlushScheduled) {
      isFlushScheduled = true;
      setImmediate(flushAll);
    }
  }

  flush(): void {
    if (this.pendingText === '' || this.isClosed) return;
    const text = this.pendingText;
    this.pendingText = '';
    this.socket.write(text);
  }

  /** Fails what is in flight and closes. */
  destroy(error: Error): void {
    this.fail(error);
  }

  private received(chunk: Buffer): void {
    let responses: ReturnType<HttpResponseParser['push']>;
    try {
      responses = this.parser.push(chunk);
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    for (const response of responses) {
      const call = this.waiting[this.waitingHead];
      if (call === undefined) {
        this.fail(new Error('an answer to no call'));
        return;
      }
      this.waiting[this.waitingHead++] = undefined;
      if (this.waitingHead === this.waiting.length) {
        this.waiting.length = 0;
        this.waitingHead = 0;
      }
      const { status } = response;
      call.resolve({
        status,
        body: status >= 200 && status < 300 ? '' : response.body.toString('utf8'),
      });
      if (response.isLast) {
        this.fail(new Error('the master closed the connection after an answer'));
        return;
      }
      this.onSettled(this);
    }
  }

  private fail(error: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    unflushed.delete(this);
    this.socket.destroy();
    const failed = this.waiting.slice(this.waitingHead);
    this.waiting.length = 0;
    this.waitingHead = 0;
    if (failed.length > 0) this.onNetworkError(failed.length);
    for (const call of failed) call?.reject(error);
    this.onClosed(this, error);
  }
}

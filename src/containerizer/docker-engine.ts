// A small client of the Docker Engine API over its unix socket (node:http, no
// dependency): the calls the containerizer makes besides `docker run` itself,
// each a few milliseconds where a CLI process would cost ~50 ms of CPU. Every
// call has a deadline; an error names the call and Docker's own message.
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import type { Readable } from 'node:stream';
import type { CreateBody } from './docker-create.js';

/** Engine API version: 1.41 is Docker 20.10's, the oldest Debian release we run against. */
const API_PREFIX = '/v1.41';
const DEFAULT_TIMEOUT_MS = 30_000;
/** Largest body read from the daemon (a container list of a few thousand). */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export class DockerEngineError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** What the containerizer reads of `GET /containers/{id}/json`. */
export interface ContainerInspect {
  readonly Id: string;
  readonly Name: string;
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly OOMKilled: boolean;
    readonly Pid: number;
    readonly ExitCode: number;
    readonly Error?: string;
  };
  readonly Config: {
    readonly Labels: Readonly<Record<string, string>> | null;
    readonly Tty?: boolean;
  };
  readonly HostConfig?: { readonly Memory?: number };
}

export interface ContainerSummary {
  readonly Id: string;
  readonly Names: readonly string[];
  readonly State: string;
  readonly Labels: Readonly<Record<string, string>> | null;
}

/** Options of a call: a body to send as JSON, a deadline (0: none), a signal that ends it. */
interface CallOptions {
  readonly body?: unknown;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export class DockerEngine {
  constructor(readonly socket: string) {}

  /** `POST /containers/create`: the container's id. A missing image is a 404 ("No such image"). */
  async create(name: string, body: CreateBody): Promise<string> {
    const created = await this.call<{ Id: string }>(
      'POST',
      `/containers/create?name=${encodeURIComponent(name)}`,
      { body },
    );
    return created.Id;
  }

  /** `POST /containers/{name}/start`: resolves once it runs (or has already exited). */
  async start(name: string): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(name)}/start`);
  }

  /**
   * `POST /containers/{name}/wait`: resolves with the exit status once the container is not
   * running (at once if it has already ended). No deadline: it lasts as long as the container.
   */
  async wait(name: string, signal?: AbortSignal): Promise<{ readonly StatusCode: number }> {
    const waiting = this.waitFor(name, 'not-running', signal);
    await waiting.registered;
    return waiting.exited;
  }

  /**
   * `POST /containers/{name}/wait?condition=…`, in two parts: `registered` once dockerd has
   * taken the wait (it sends the answer's head then, before it blocks), `exited` with the
   * exit status. With `next-exit` registered before the start, as `docker run` does, the
   * exit's news needs no request after the start; awaiting `registered` first is what makes
   * that safe, since a `next-exit` wait that dockerd took after the exit would last until the
   * container's removal. Both reject with Docker's message if dockerd refuses the wait.
   */
  waitFor(
    name: string,
    condition: 'not-running' | 'next-exit',
    signal?: AbortSignal,
  ): { readonly registered: Promise<void>; readonly exited: Promise<{ StatusCode: number }> } {
    const path = `/containers/${encodeURIComponent(name)}/wait?condition=${condition}`;
    let registered!: { resolve: () => void; reject: (error: unknown) => void };
    const isRegistered = new Promise<void>((resolve, reject) => {
      registered = { resolve, reject };
    });
    const exited = new Promise<{ StatusCode: number }>((resolve, reject) => {
      const fail = (error: unknown) => {
        registered.reject(error);
        reject(error);
      };
      const req = request(
        {
          socketPath: this.socket,
          method: 'POST',
          path: `${API_PREFIX}${path}`,
          ...(signal !== undefined ? { signal } : {}),
        },
        (res) => {
          if ((res.statusCode ?? 500) >= 400) {
            rejectWithMessage(res, `POST ${path}`, fail);
            return;
          }
          registered.resolve();
          readBody(res, `POST ${path}`, req).then(
            (body) => resolve(body as { StatusCode: number }),
            reject,
          );
        },
      );
      req.on('error', (error) => fail(this.unreachable(error)));
      req.end();
    });
    // Whoever awaits only one of the two still sees the other's failure as handled.
    isRegistered.catch(() => undefined);
    exited.catch(() => undefined);
    return { registered: isRegistered, exited };
  }

  /**
   * `POST /containers/{name}/attach` to stdout and stderr, resolved once attached: the
   * container's output as it writes it, until it exits (the stream `docker run` reads).
   * With `replay`, what its log holds comes first (a restarted agent catching up); output
   * written between the replay and the attachment is not seen twice, and may be missed.
   * Multiplexed (see docker-log-frames.ts) unless the container has a TTY.
   */
  attach(name: string, replay: boolean, signal?: AbortSignal): Promise<Readable> {
    return this.upgrade(
      `/containers/${encodeURIComponent(name)}/attach?stream=1&stdout=1&stderr=1${replay ? '&logs=1' : ''}`,
      undefined,
      signal,
    );
  }

  /** `POST /containers/{name}/exec`: an exec instance of `command`, its output attached. */
  async execCreate(name: string, command: readonly string[]): Promise<string> {
    const created = await this.call<{ Id: string }>(
      'POST',
      `/containers/${encodeURIComponent(name)}/exec`,
      { body: { AttachStdout: true, AttachStderr: true, Cmd: command } },
    );
    return created.Id;
  }

  /**
   * `POST /exec/{id}/start`, attached: its output, multiplexed as an attachment's, until
   * the command ends. Its exit code is then execExitCode's.
   */
  execStart(id: string, signal?: AbortSignal): Promise<Readable> {
    return this.upgrade(
      `/exec/${encodeURIComponent(id)}/start`,
      { Detach: false, Tty: false },
      signal,
    );
  }

  /** `GET /exec/{id}/json`: the exit code of an ended exec; null while it runs. */
  async execExitCode(id: string): Promise<number | null> {
    const inspect = await this.call<{ ExitCode: number | null; Running: boolean }>(
      'GET',
      `/exec/${encodeURIComponent(id)}/json`,
    );
    return inspect.Running ? null : inspect.ExitCode;
  }

  /** A POST answered 101, as the CLI asks for attachments: the socket is then the stream. */
  private upgrade(path: string, body: unknown, signal?: AbortSignal): Promise<Readable> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<Readable>((resolve, reject) => {
      const req = request({
        socketPath: this.socket,
        method: 'POST',
        path: `${API_PREFIX}${path}`,
        headers: {
          connection: 'Upgrade',
          upgrade: 'tcp',
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
        ...(signal !== undefined ? { signal } : {}),
      });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        if (signal !== undefined) {
          const onAbort = () => socket.destroy();
          signal.addEventListener('abort', onAbort, { once: true });
          socket.once('close', () => signal.removeEventListener('abort', onAbort));
        }
        resolve(socket);
      });
      req.on('response', (res) => rejectWithMessage(res, `POST ${path}`, reject));
      req.on('error', (error) => reject(this.unreachable(error)));
      req.end(payload);
    });
  }

  /**
   * `GET /containers/{name}/logs` of stdout and stderr, from the start to now (no follow:
   * dockerd 20.10's following of a json-file log skips lines of a fast writer). Rejects
   * with Docker's message when there is nothing to read (a log driver that keeps none).
   */
  logs(name: string, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.stream(
      'GET',
      `/containers/${encodeURIComponent(name)}/logs?stdout=1&stderr=1`,
      signal,
    );
  }

  /**
   * `GET /events` of the containers carrying these labels, only the `die`s: one JSON object
   * a line, from now on. Resolved once dockerd has subscribed (it sends the head then).
   */
  dieEvents(labels: Readonly<Record<string, string>>): Promise<IncomingMessage> {
    const filters = JSON.stringify({
      type: ['container'],
      event: ['die'],
      label: Object.entries(labels).map(([key, value]) => `${key}=${value}`),
    });
    return this.stream('GET', `/events?filters=${encodeURIComponent(filters)}`);
  }

  /** A request whose response is a stream: resolved with it once its head has come. */
  private stream(method: string, path: string, signal?: AbortSignal): Promise<IncomingMessage> {
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socket,
          method,
          path: `${API_PREFIX}${path}`,
          ...(signal !== undefined ? { signal } : {}),
        },
        (res) => {
          if ((res.statusCode ?? 500) < 400) resolve(res);
          else rejectWithMessage(res, `${method} ${path}`, reject);
        },
      );
      req.on('error', (error) => reject(this.unreachable(error)));
      req.end();
    });
  }

  /** `GET /containers/{name}/json`; undefined if there is no such container. */
  async inspect(name: string): Promise<ContainerInspect | undefined> {
    return this.orNotFound(() =>
      this.call<ContainerInspect>('GET', `/containers/${encodeURIComponent(name)}/json`),
    );
  }

  /** Whether the image is in the daemon's store. */
  async hasImage(image: string): Promise<boolean> {
    const found = await this.orNotFound(() =>
      this.call<unknown>('GET', `/images/${encodeURIComponent(image)}/json`),
    );
    return found !== undefined;
  }

  async hasNetwork(name: string): Promise<boolean> {
    const found = await this.orNotFound(() =>
      this.call<unknown>('GET', `/networks/${encodeURIComponent(name)}`),
    );
    return found !== undefined;
  }

  /** Containers (running or not) carrying every one of these labels. */
  async list(labels: Readonly<Record<string, string>>): Promise<ContainerSummary[]> {
    const filters = JSON.stringify({
      label: Object.entries(labels).map(([key, value]) => `${key}=${value}`),
    });
    return this.call<ContainerSummary[]>(
      'GET',
      `/containers/json?all=1&filters=${encodeURIComponent(filters)}`,
    );
  }

  /** Sends a signal to the container's init process; a container not running is left be. */
  async kill(name: string, signal: NodeJS.Signals): Promise<void> {
    try {
      await this.call('POST', `/containers/${encodeURIComponent(name)}/kill?signal=${signal}`);
    } catch (error) {
      // 404: gone; 409: not running. Either way, nothing left to signal.
      if (
        error instanceof DockerEngineError &&
        (error.statusCode === 404 || error.statusCode === 409)
      )
        return;
      throw error;
    }
  }

  /** Removes the container (killing it if it runs) and its anonymous volumes. */
  async remove(name: string): Promise<void> {
    try {
      await this.call('DELETE', `/containers/${encodeURIComponent(name)}?force=1&v=1`);
    } catch (error) {
      if (error instanceof DockerEngineError && error.statusCode === 404) return;
      throw error;
    }
  }

  async ping(): Promise<void> {
    await this.call('GET', '/_ping');
  }

  private async orNotFound<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof DockerEngineError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  /** A request that did not reach the daemon (no socket, refused, reset). */
  private unreachable(error: Error): Error {
    return new Error(`docker daemon at ${this.socket}: ${error.message}`, { cause: error });
  }

  private call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socket,
          method,
          path: `${API_PREFIX}${path}`,
          ...(timeoutMs > 0 ? { timeout: timeoutMs } : {}),
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
          ...(payload !== undefined
            ? {
                headers: {
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(payload),
                },
              }
            : {}),
        },
        (res) => {
          readBody(res, `${method} ${path}`, req).then((body) => resolve(body as T), reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)),
      );
      req.on('error', (error) => reject(this.unreachable(error)));
      req.end(payload);
    });
  }
}

/**
 * An answer's body: parsed JSON when it says it is JSON, else the text; a status of 400 or
 * more rejects with Docker's message. Bounded: a larger body destroys the request.
 */
function readBody(res: IncomingMessage, call: string, req: ClientRequest): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        req.destroy(new Error(`${call}: response larger than ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = res.statusCode ?? 500;
      if (status >= 400) {
        reject(new DockerEngineError(status, `${call}: ${messageOf(body)}`));
        return;
      }
      const type = res.headers['content-type'] ?? '';
      try {
        resolve(type.includes('json') && body !== '' ? JSON.parse(body) : body);
      } catch (error) {
        reject(error);
      }
    });
    // A destroyed request (too large, aborted) rejects through the request's 'error'.
    res.on('error', reject);
  });
}

/** Rejects with an error answer's status and Docker's message (from its first 4 KB). */
function rejectWithMessage(
  res: IncomingMessage,
  call: string,
  reject: (error: unknown) => void,
): void {
  const status = res.statusCode ?? 500;
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    if (body.length < 4096) body += chunk;
  });
  res.on('end', () => reject(new DockerEngineError(status, `${call}: ${messageOf(body)}`)));
  res.on('error', reject);
}

/** Docker's `{"message": …}`, or the text as it came. */
function messageOf(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.trim();
  } catch {
    return body.trim();
  }
}
